"""``bantin audit``: check the hash-chained audit log."""

import typer

from cli.common import echo, ensure_db
from services.runtime import session
from storage.repositories import audit

audit_app = typer.Typer(no_args_is_help=True)

TAMPERED_EXIT = 3  # distinct from 1 (infrastructure) and 2 (bad input) so monitoring can alert on it


@audit_app.callback()
def audit_main() -> None:
    """The append-only, hash-chained audit log."""  # a callback keeps 'verify' a subcommand


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the whole hash chain; name every modified, deleted or out-of-place entry.

    Exit status 0 when intact, 3 when the log was tampered with.
    """
    ensure_db()
    with session() as s:
        count, findings = audit.verify(s)
        head_seq, head_hash = audit.head(s)
    if not findings:
        echo(f"audit log intact: {count} entries, head #{head_seq} {head_hash[:16]}")
        return
    for finding in findings:
        typer.echo(f"TAMPERED {finding}", err=True)
    typer.echo(f"audit log broken: {len(findings)} problem(s) in {count} entries", err=True)
    raise typer.Exit(TAMPERED_EXIT)
