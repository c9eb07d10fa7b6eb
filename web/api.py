"""JSON API (``/api/v1``) for provincial systems and scripts: the same operations as the pages,
authenticated with a bearer token from ``bantin api-token create USER --as USER`` (revocable, expiring).
OpenAPI at ``/docs``."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import select

from domain.packages import PackageStatus
from services import approvals as approval_service
from services import credentials
from services import drafts as draft_service
from services import translations as translation_service
from services.packages import package_view
from services.runtime import object_store, session
from storage.models import UserRecord
from storage.repositories import drafts, packages
from web.access import package_areas, require, visible
from web.app import LoginRequired

router = APIRouter(prefix="/api/v1", tags=["api"])
bearer = HTTPBearer(auto_error=False)


def api_username(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The username a valid bearer token names (the user is re-checked on every call)."""
    if creds is None:
        raise LoginRequired()
    with session() as s:
        user = credentials.api_token_user(s, creds.credentials)
        if user is None:
            raise LoginRequired()
        return user.username


ApiUser = Annotated[str, Depends(api_username)]


def _user(s: Any, username: str) -> UserRecord:
    user = s.scalar(select(UserRecord).where(UserRecord.username == username))
    if user is None or not user.active:
        raise LoginRequired()
    return user


class DraftIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=30_000)
    areas: list[str] = Field(min_length=1, max_length=500)
    languages: list[str] = Field(default=["vi"], min_length=1, max_length=10)
    priority: str = "thuong"
    source_ref: str = Field(default="", max_length=200)
    requesting_unit: str = Field(default="", max_length=200)
    embargo_at: datetime | None = None
    expires_at: datetime | None = None
    produce: bool = False
    confirm_cleaning: bool = False  # accept that intake cleaning removed more than half of the lines
    keep_lines: list[int] = Field(default=[], max_length=500)  # lines kept although a cleaning rule matched


class ApproveIn(BaseModel):
    manifest_hash: str = Field(min_length=12, max_length=64, pattern="^[0-9a-fA-F]+$")


class TranslationIn(BaseModel):
    script: str = Field(min_length=1, max_length=10_000)
    board_text: str = Field(min_length=1, max_length=2_000)
    title: str | None = Field(default=None, max_length=200, description="The variant's title on its slides; "
                              "omitted: the variant keeps the title it has")


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.get("/drafts")
def list_drafts(username: ApiUser) -> list[dict[str, Any]]:
    """Drafts visible to the caller, newest first."""
    with session() as s:
        user = _user(s, username)
        return [{"id": r.draft_id, "revision": r.number, "title": r.title, "priority": r.priority,
                 "areas": r.area_codes, "created_at": r.created_at.isoformat()}
                for r in drafts.list_drafts(s, limit=200) if visible(s, user, list(r.area_codes))]


@router.post("/drafts", status_code=201)
def create_draft(request: Request, body: DraftIn, username: ApiUser) -> dict[str, Any]:
    """Submit a draft; with ``produce`` the package is produced right away."""
    with session() as s:
        user = _user(s, username)
        require(s, user, "draft.create", area_codes=body.areas)
        rev = draft_service.submit_text_draft(s, object_store(), draft_service.DraftRequest(
            title=body.title, body=body.body, area_codes=body.areas, languages=body.languages,
            priority=body.priority, author=user.username, source_ref=body.source_ref,
            requesting_unit=body.requesting_unit, embargo_at=body.embargo_at, expires_at=body.expires_at,
            confirm_cleaning=body.confirm_cleaning, keep_lines=tuple(body.keep_lines)))
    if body.produce:
        request.app.state.flows.produce(rev.draft_id, user.username)
    return {"id": rev.draft_id, "revision": rev.number, "content_hash": rev.content.content_hash()}


@router.post("/drafts/{draft_id}/produce", status_code=202)
def produce(request: Request, draft_id: int, username: ApiUser) -> dict[str, Any]:
    with session() as s:
        user = _user(s, username)
        require(s, user, "draft.create", area_codes=list(drafts.latest_revision(s, draft_id).content.area_codes))
    request.app.state.flows.produce(draft_id, username)
    return {"draft_id": draft_id, "status": "producing"}


@router.get("/packages/{package_id}")
def get_package(package_id: int, username: ApiUser) -> dict[str, Any]:
    """A package with its variants, assets (with URLs), approvals and deliveries."""
    with session() as s:
        user = _user(s, username)
        require(s, user, "package.view", area_codes=package_areas(s, package_id))
        return package_view(s, object_store(), package_id)


@router.get("/packages/{package_id}/progress")
def get_progress(package_id: int, username: ApiUser) -> dict[str, Any]:
    """Production steps per language, publication state and each channel's delivery, the reason of a failure,
    and whether the caller may retry it (the package page's live card, as data)."""
    from services.progress import package_progress

    with session() as s:
        user = _user(s, username)
        require(s, user, "package.view", area_codes=package_areas(s, package_id))
        return package_progress(s, package_id, user)


@router.post("/packages/{package_id}/retry", status_code=202)
def retry(request: Request, package_id: int, username: ApiUser) -> dict[str, Any]:
    """Send a failed publication again (approvers and administrators of the package's areas)."""
    from services.progress import retry_publication

    with session() as s:
        reopened = retry_publication(s, package_id, actor=_user(s, username).username)
    request.app.state.flows.publish(package_id)
    return {"id": package_id, "reopened": reopened}


@router.get("/queue")
def approval_queue(username: ApiUser) -> list[dict[str, Any]]:
    """Packages awaiting review that the caller may approve now (the same queue as the pages)."""
    with session() as s:
        user = _user(s, username)
        return [{"id": e.package_id, "manifest_hash": e.manifest_hash, "title": e.title, "priority": e.priority,
                 "areas": list(e.area_codes)} for e in approval_service.approval_queue(s, user.username)]


@router.post("/packages/{package_id}/approve")
def approve(request: Request, package_id: int, body: ApproveIn, username: ApiUser) -> dict[str, Any]:
    """Approve the manifest the caller reviewed; refused (409) if the package changed since."""
    with session() as s:
        user = _user(s, username)
        require(s, user, "package.approve", area_codes=package_areas(s, package_id))
        approval_service.approve_package(s, package_id=package_id, username=user.username,
                                         reviewed_hash=body.manifest_hash)
        status = packages.get_package(s, package_id).status
    if status == PackageStatus.APPROVED:
        request.app.state.flows.publish(package_id)
    return {"id": package_id, "status": status}


@router.post("/packages/{package_id}/reject")
def reject(package_id: int, body: RejectIn, username: ApiUser) -> dict[str, Any]:
    with session() as s:
        user = _user(s, username)
        require(s, user, "package.approve", area_codes=package_areas(s, package_id))
        approval_service.reject_package(s, package_id=package_id, username=user.username, reason=body.reason)
        return {"id": package_id, "status": packages.get_package(s, package_id).status}


@router.get("/translations")
def translations_to_do(username: ApiUser) -> list[dict[str, Any]]:
    """Variants waiting for the caller's translation."""
    with session() as s:
        _user(s, username)
        return translation_service.pending_translations(s, username)


@router.post("/packages/{package_id}/translations/{language}", status_code=202)
def translate(request: Request, package_id: int, language: str, body: TranslationIn,
              username: ApiUser) -> dict[str, Any]:
    """Supply a translation; the package is produced again (a new manifest that needs approval)."""
    with session() as s:
        user = _user(s, username)
        require(s, user, "variant.edit", area_codes=package_areas(s, package_id), language=language)
        draft_id = translation_service.submit_translation(s, object_store(), translation_service.TranslationRequest(
            package_id=package_id, language=language, script=body.script, board_text=body.board_text,
            translator=user.username, title=body.title))
    request.app.state.flows.produce(draft_id, username)
    return {"draft_id": draft_id, "status": "producing"}

