"""Stored files a signed-in user may view: package assets (audio, slides) and a draft's recording, with
HTTP byte ranges so audio can be sought."""

import mimetypes
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from domain.errors import NotFound
from services import asset_links, auth
from services.runtime import object_store, session
from storage.models import AssetRecord
from storage.repositories import drafts
from web.access import package_areas, require, session_user
from web.app import Forbidden
from web.ranges import ranged_response

router = APIRouter(include_in_schema=False)


@router.get("/drafts/{draft_id}/recording")
def draft_recording(request: Request, draft_id: int) -> Response:
    """The editor's original recording of an audio draft, to listen to while correcting the transcript."""
    with session() as s:
        user = session_user(request, s)
        rev = drafts.latest_revision(s, draft_id)
        require(s, user, "draft.view", area_codes=list(rev.content.area_codes))
    if rev.source_kind.value != "audio" or not rev.source_key:
        raise NotFound("this draft has no recording")
    data = object_store().get_bytes(rev.source_key)
    return ranged_response(request, data, mimetypes.guess_type(rev.source_key)[0] or "application/octet-stream")


@router.get("/htttn/v1/assets/{key:path}")
def htttn_asset(request: Request, key: str, exp: str = "", kid: str = "", sig: str = "") -> Response:
    """An asset for a receiver (no sign-in): the link in a package payload, signed and expiring
    (``services.asset_links``), with byte ranges; the payload carries its SHA-256."""
    asset_links.check(key, exp=exp, kid=kid, sig=sig, now=datetime.now(UTC))
    with session() as s:
        media_type = s.scalar(select(AssetRecord.media_type).where(AssetRecord.key == key).limit(1))
    if media_type is None:
        raise NotFound("no such asset")
    data = object_store().get_bytes(key)
    return ranged_response(request, data, media_type or "application/octet-stream",
                           {"Cache-Control": "private, max-age=3600", "ETag": f'"{key.rsplit("/", 1)[-1]}"'})


@router.get("/assets/{key:path}")
def asset(request: Request, key: str) -> Response:
    """Serve an asset to a user who may view a package containing it (audio, slides)."""
    with session() as s:
        user = session_user(request, s)
        recs = list(s.scalars(select(AssetRecord).where(AssetRecord.key == key)))
        if not recs:
            raise NotFound("no such asset")
        if not any(auth.can(s, user, "package.view", area_codes=package_areas(s, r.package_id)) for r in recs):
            raise Forbidden("asset")
        media_type = recs[0].media_type
    data = object_store().get_bytes(key)
    return ranged_response(request, data, media_type or mimetypes.guess_type(key)[0] or "application/octet-stream",
                           {"Cache-Control": "private, max-age=86400"})
