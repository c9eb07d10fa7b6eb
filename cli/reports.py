"""``bantin reports``: periodic reports (Circular 02/2023), proof of play per bulletin, and the rollups."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db
from domain.errors import InvalidInput
from services import coverage, report_files, rollups
from services.runtime import object_store, session

reports_app = typer.Typer(help="Operations reports: periodic reports, proof of play, rollups.", no_args_is_help=True)


def _when(at: datetime | None) -> str:
    return (at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")) if at else "-"


@reports_app.command("generate")
def generate(
    period: Annotated[str, typer.Option(help="2026-07 (month), 2026-Q3, 2026-H1, 2026 or 2026-07-01..2026-07-31.")],
    area: Annotated[str, typer.Option(help="Area code the report covers (with everything below it).")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, xlsx or csv.")] = "pdf",
    lang: Annotated[str, typer.Option(help="vi (default) or en.")] = "vi",
    out: Annotated[Path | None, typer.Option(help="Also write the file here.")] = None,
    as_user: AsUser = "",
) -> None:
    """Generate a report, store it in the object store and list it in the web app."""
    ensure_db()
    if not as_user:
        raise InvalidInput("say who is asking with --as USER (or BANTIN_USER)")
    if lang not in ("vi", "en"):
        raise InvalidInput("--lang: vi or en")
    store = object_store()
    with session() as s:
        rollups.fold_all(session)
        rec = report_files.generate(s, store, period=period, area_code=area, fmt=fmt.lower(), actor=as_user,
                                    now=datetime.now(UTC), lang=lang)
        rid, key, size, cut = rec.id, rec.key, rec.size, rec.cut_off
    if out is not None:
        out.write_bytes(store.get_bytes(key))
    written = f", written to {out}" if out else ""
    echo(f"report {rid}: {period} {area} {fmt} ({size} bytes), data up to {cut}{written}")


@reports_app.command("list")
def list_reports(as_user: AsUser = "") -> None:
    """Generated reports the user may see, newest first."""
    ensure_db()
    if not as_user:
        raise InvalidInput("say who is asking with --as USER (or BANTIN_USER)")
    with session() as s:
        rows = report_files.visible_reports(s, as_user)
        if not rows:
            echo("no reports yet")
        for r in rows:
            echo(f"{r.id:>5}  {r.period:<22} {r.area_code:<6} {r.format:<5} {r.size:>9}  up to {r.cut_off}  "
                 f"{_when(r.created_at)}  {r.created_by}")


@reports_app.command("coverage")
def coverage_cmd(package_id: int, area: Annotated[str | None, typer.Option(help="Only devices inside it.")] = None
                 ) -> None:
    """Proof of play of one package: communes and devices that played it, and why others did not."""
    ensure_db()
    with session() as s:
        cov = coverage.package_coverage(s, package_id, now=datetime.now(UTC),
                                        thresholds=rollups.Thresholds.from_settings(), within=area)
    echo(f"package {cov.package_id} '{cov.title}' ({cov.priority}, {cov.status}), published {_when(cov.published_at)}")
    echo(f"communes {cov.communes_played}/{len(cov.communes)}, devices {cov.devices_played}/{len(cov.devices)}")
    for c in cov.communes:
        echo(f"  {c.area_code} {c.area_name}: {c.devices_played}/{c.devices} devices, {c.plays} plays, "
             f"first {_when(c.first_play)}")
    for reason, n in sorted(cov.reasons.items()):
        echo(f"  not played ({reason}): {n}")
    if cov.time_to_air_s:
        lat = cov.latency(cov.time_to_air_s)
        echo(f"  time to air: median {lat['p50']:.0f} s, 90% {lat['p90']:.0f} s, max {lat['max']:.0f} s")


@reports_app.command("rollup")
def rollup() -> None:
    """Fold new play logs into the daily rollups and record device online/offline changes (the reports flow
    does this on its schedule)."""
    ensure_db()
    n = rollups.fold_all(session)
    with session() as s:
        changes = rollups.record_state_changes(s, datetime.now(UTC), rollups.Thresholds.from_settings())
    echo(f"folded {n} play log rows; {changes} device state changes")
