"""``bantin package edit``, ``record`` and ``translate``: a person's text, voice or translation for one variant.

Edit and record make a new package of the same revision (the other variants carried over), re-speak and
re-render only that variant with the ``revise`` flow, and leave the new package in review: it needs a new
approval. A translation fills a variant no machine could (or corrects one) and produces the package again.
"""

from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db
from domain.errors import InvalidInput
from services import translations
from services import variant_edits as edits
from services.runtime import object_store, session
from settings import configure_prefect_env, get_settings

Lang = Annotated[str, typer.Option("--lang", help="The variant's language code (vi, km, ...).")]


def _read(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the {what} file {path.name}: it must be UTF-8 text") from exc


def _revise(package_id: int, language: str) -> None:
    configure_prefect_env(get_settings())
    from flows.revise import revise_variant

    revise_variant(package_id, language)


def edit(
    package_id: int,
    lang: Lang = "vi",
    script_file: Annotated[Path | None, typer.Option(help="The new loudspeaker script (UTF-8); default: keep.")] = None,
    board_file: Annotated[Path | None, typer.Option(help="The new board text (UTF-8); default: keep.")] = None,
    as_user: AsUser = "",
) -> None:
    """Replace a variant's loudspeaker script and/or board text; only that variant is spoken and rendered again."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is editing? pass --as USERNAME or set BANTIN_USER")
    script, board = _read(script_file, "script"), _read(board_file, "board text")
    if script is None and board is None:
        raise InvalidInput("nothing to change: pass --script-file and/or --board-file")
    with session() as s:
        now_script, now_board = edits.current_texts(s, object_store(), package_id, lang)
        done = edits.edit_text(s, object_store(), edits.TextEdit(
            package_id, lang, now_script if script is None else script, now_board if board is None else board,
            as_user))
    b = done.budget
    assert b is not None
    echo(f"package {done.package_id} replaces {package_id}; speaking and rendering {lang} again")
    echo(f"  script: about {b.script_seconds:.0f} s of speech (budget {b.target_seconds:.0f} s)"
         + ("  OVER BUDGET (kept as written)" if b.script_over else ""))
    echo(f"  board:  {b.board_lines} line(s) (budget {b.target_lines})"
         + ("  OVER BUDGET (kept as written)" if b.board_over else ""))
    _revise(done.package_id, lang)
    echo(f"package {done.package_id} is in review and needs a new approval: bantin package show {done.package_id}")


def record(
    package_id: int,
    file: Annotated[Path, typer.Option("--file", help="The recording (WebM, MP4/M4A, Ogg, MP3, WAV).")],
    lang: Lang = "vi",
    as_user: AsUser = "",
) -> None:
    """Replace a variant's synthetic voice with a person's recording (checked, then loudness-normalised)."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is recording? pass --as USERNAME or set BANTIN_USER")
    if not file.is_file():
        raise InvalidInput(f"no such file: {file.name}")
    with session() as s:
        done = edits.record_voice(s, object_store(), edits.VoiceRecording(package_id, lang, file, as_user))
    echo(f"package {done.package_id} replaces {package_id}; normalising the recording of {lang}")
    _revise(done.package_id, lang)
    echo(f"package {done.package_id} is in review and needs a new approval: bantin package show {done.package_id}")


def translate(
    package_id: int,
    lang: Lang,
    script_file: Annotated[Path, typer.Option(help="The translated loudspeaker script (UTF-8).")],
    board_file: Annotated[Path, typer.Option(help="The translated board text (UTF-8).")],
    title: Annotated[str | None, typer.Option(help="The variant's title, shown on its slides; "
                                                   "default: keep the title it has.")] = None,
    as_user: AsUser = "",
) -> None:
    """Supply a person's translation of a variant (with its title); the package is produced again."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is translating? pass --as USERNAME or set BANTIN_USER")
    script, board = _read(script_file, "script"), _read(board_file, "board text")
    with session() as s:
        draft_id = translations.submit_translation(s, object_store(), translations.TranslationRequest(
            package_id=package_id, language=lang, script=script or "", board_text=board or "", translator=as_user,
            title=title))
    echo(f"translation into {lang} kept; producing draft {draft_id} again")
    configure_prefect_env(get_settings())
    from flows.produce import produce_package

    new_id = produce_package(draft_id)
    echo(f"package {new_id} is in review and needs a new approval: bantin package show {new_id}")
