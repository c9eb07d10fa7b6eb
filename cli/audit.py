"""``bantin audit``: check the hash-chained audit log and anchor it with signed checkpoints."""

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cli.common import echo, ensure_db
from services import audit_anchor
from services.runtime import object_store, session

audit_app = typer.Typer(no_args_is_help=True)

TAMPERED_EXIT = 3  # distinct from 1 (infrastructure) and 2 (bad input) so monitoring can alert on it
CHECKPOINT_FILE_ENV = "BANTIN_AUDIT_CHECKPOINT_FILE"

FileOpt = Annotated[Path | None, typer.Option(
    "--file", envvar=CHECKPOINT_FILE_ENV, show_envvar=True,
    help="Also append the checkpoint to this file (keep a copy off this machine).")]
CheckpointsOpt = Annotated[list[Path] | None, typer.Option(
    "--checkpoints", help="A checkpoint file an auditor kept; repeatable. Default: $" + CHECKPOINT_FILE_ENV)]


@audit_app.callback()
def audit_main() -> None:
    """The append-only, hash-chained audit log."""  # a callback keeps 'verify' a subcommand


def _report_problems(problems: list[str], count: int) -> NoReturn:
    for problem in problems:
        typer.echo(f"TAMPERED {problem}", err=True)
    typer.echo(f"audit log broken: {len(problems)} problem(s) in {count} entries", err=True)
    raise typer.Exit(TAMPERED_EXIT)


@audit_app.command("verify")
def audit_verify(checkpoints: CheckpointsOpt = None) -> None:
    """Recompute the whole hash chain and compare it with every signed checkpoint (object store and files);
    name every modified, deleted or out-of-place entry, a cut-off end, an emptied or recomputed log.

    Exit status 0 when intact, 3 when the log was tampered with.
    """
    ensure_db()
    files = list(checkpoints or [])
    if not files and os.environ.get(CHECKPOINT_FILE_ENV):
        files = [Path(os.environ[CHECKPOINT_FILE_ENV])]
    with session() as s:
        report = audit_anchor.verify(s, object_store(), files=files)
    if not report.intact:
        _report_problems(report.problems, report.count)
    anchored = max((cp.seq for _, cp in report.checkpoints), default=None)
    anchor = (f"; checked against signed checkpoints up to #{anchored}" if anchored is not None
              else "; no signed checkpoint yet (run 'bantin audit checkpoint')")
    echo(f"audit log intact: {report.count} entries, head #{report.head_seq} {report.head_hash[:16]}{anchor}")


@audit_app.command("checkpoint")
def audit_checkpoint(file: FileOpt = None) -> None:
    """Sign the log's current head with the installation key and store it in the object store (and --file).

    Refused, with exit status 3, when the log is already broken.
    """
    ensure_db()
    with session() as s:
        document, report = audit_anchor.write_checkpoint(s, object_store(), file=file)
    if document is None:
        _report_problems(report.problems, report.count)
    where = "object store" + (f" and {file}" if file is not None else "")
    echo(f"checkpoint #{report.head_seq} {report.head_hash[:16]} signed by key {document['signature']['key_id']}"
         f" and written to the {where}")
