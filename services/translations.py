"""What a translator supplies for a variant: a translation (with its title) where no machine could translate,
or a correction of one. The package is then produced again with it (a new manifest, so a new approval). A
person's recording replaces only its variant's voice: see :mod:`services.variant_edits`."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.drafts import clean_text
from domain.errors import ApprovalRefused, InvalidInput, InvalidTransition, NotFound
from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.packages import AssetKind, PackageStatus, VariantStatus
from domain.priority import Priority
from services import auth
from storage.objects import ObjectStore
from storage.repositories import audit, drafts, packages, translations, users

MAX_SCRIPT_CHARS = 10_000
MAX_BOARD_CHARS = 2_000
MAX_TITLE_CHARS = 200


@dataclass(frozen=True, slots=True)
class TranslationRequest:
    package_id: int
    language: str
    script: str
    board_text: str
    translator: str
    title: str | None = None  # the variant's title, on its slides; None keeps the variant's current title


def translated_title(session: Session, package_id: int, language: str, title: str | None) -> str:
    """The title a translated variant will carry: ``title`` checked (one line, at most 200 characters), or
    with None the title the variant has now (a correction of the text alone keeps it).

    Raises:
        InvalidInput: more than one line, or too long.
    """
    if title is None:
        board = packages.get_asset(session, package_id=package_id, language=language, kind=AssetKind.BOARD_TEXT)
        return str(board.meta.get("title") or "") if board is not None else ""
    clean = " ".join(clean_text(title).split())
    if "\n" in title.strip() or "\r" in title.strip() or len(clean) > MAX_TITLE_CHARS:
        raise InvalidInput(f"the title must be one line of at most {MAX_TITLE_CHARS} characters")
    return clean


def pending_translations(session: Session, username: str) -> list[dict[str, object]]:
    """Packages in review with a variant blocked in a language this user may translate, in their areas."""
    user = users.get_user(session, username)
    out: list[dict[str, object]] = []
    for pkg in packages.packages_in_status(session, PackageStatus.IN_REVIEW):
        rev = drafts.revision_by_id(session, pkg.revision_id)
        for v in packages.variants_of(session, pkg.id):
            if v.status is VariantStatus.BLOCKED and v.language != SOURCE_LANGUAGE and auth.can(
                session, user, "variant.edit", area_codes=list(rev.content.area_codes), language=v.language
            ):
                out.append({"package_id": pkg.id, "language": v.language, "title": rev.content.title,
                            "priority": rev.content.priority.value, "areas": list(rev.content.area_codes)})
    rank: dict[str, int] = {Priority.KHAN_CAP: 0, Priority.UU_TIEN: 1}
    return sorted(out, key=lambda r: (rank.get(str(r["priority"]), 2), r["package_id"], r["language"]))


def check_translatable(session: Session, package_id: int, language: str) -> None:
    """Refuse before anyone types: the bulletin must ask for ``language`` (not the source language) and the
    package must still be in review (a replaced package takes no translation).

    Raises:
        NotFound: no such package, or the bulletin has no variant in that language.
        InvalidTransition: the package is no longer in review.
    """
    pkg = packages.get_package(session, package_id)
    rev = drafts.revision_by_id(session, pkg.revision_id)
    if language == SOURCE_LANGUAGE or language not in rev.content.languages:
        name = LANGUAGES[language].name_en if language in LANGUAGES else language
        raise NotFound(f"this bulletin has no {name} variant to translate")
    if pkg.status != PackageStatus.IN_REVIEW:
        raise InvalidTransition("package", pkg.status, "translated")


def submit_translation(session: Session, store: ObjectStore, req: TranslationRequest) -> int:
    """Record a person's translation and retire the package it corrects; the caller then runs the produce
    flow for the returned draft, which builds a new package with this variant filled in.

    Raises:
        InvalidInput: empty or oversized text, a language the draft does not ask for, or the source language.
        ApprovalRefused: the package is not in review, or the user may not translate this language here.
    """
    script, board = clean_text(req.script), clean_text(req.board_text)
    if not script or not board:
        raise InvalidInput("both the loudspeaker script and the board text are needed")
    if len(script) > MAX_SCRIPT_CHARS or len(board) > MAX_BOARD_CHARS:
        raise InvalidInput(f"the script may have {MAX_SCRIPT_CHARS} characters and the board text {MAX_BOARD_CHARS}")
    pkg = packages.get_package(session, req.package_id)
    title = translated_title(session, pkg.id, req.language, req.title)
    rev = drafts.revision_by_id(session, pkg.revision_id)
    if req.language == SOURCE_LANGUAGE or req.language not in rev.content.languages:
        name = LANGUAGES[req.language].name_en if req.language in LANGUAGES else req.language
        raise InvalidInput(f"this bulletin has no {name} variant to translate")
    user = users.get_user(session, req.translator)
    if not auth.can(session, user, "variant.edit", area_codes=list(rev.content.area_codes), language=req.language):
        raise ApprovalRefused(f"user '{req.translator}' may not translate into {req.language} for these areas")
    if pkg.status != PackageStatus.IN_REVIEW:
        raise ApprovalRefused(f"the package is '{pkg.status}'; only a package in review takes translations")
    script_obj = store.put_bytes(script.encode("utf-8"), ext="txt", media_type="text/plain; charset=utf-8")
    board_obj = store.put_bytes(board.encode("utf-8"), ext="txt", media_type="text/plain; charset=utf-8")
    rec = translations.add_translation(session, revision_id=pkg.revision_id, language=req.language,
                                       script_key=script_obj.key, board_key=board_obj.key, translator=user.username,
                                       title=title)
    packages.set_status(session, pkg, PackageStatus.SUPERSEDED, actor=user.username,
                        reason=f"translation into {req.language} supplied", translation_id=rec.id)
    audit.record(session, actor=user.username, action="translation.submitted", entity="draft",
                 entity_id=pkg.draft_id, revision=rev.number, language=req.language, translation_id=rec.id,
                 script_key=script_obj.key, board_key=board_obj.key, title=title)
    return pkg.draft_id
