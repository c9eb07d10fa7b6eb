"""``bantin relays``: upstream stations (sources), relay slots per area, the airings carried, and the
installation's Icecast (configuration and a foreground server for one machine)."""

from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db
from services import areas as area_service
from services import relays as relay_service
from services import streaming
from services.runtime import session
from storage.repositories import relays as repo

relays_app = typer.Typer(help="Relays of upper-level stations over the installation's Icecast.", no_args_is_help=True)
sources_app = typer.Typer(help="Upstream stations that may be relayed.", no_args_is_help=True)
slots_app = typer.Typer(help="When a source airs in an area.", no_args_is_help=True)
relays_app.add_typer(sources_app, name="sources")
relays_app.add_typer(slots_app, name="slots")


@sources_app.command("add")
def source_add(name: str, url: str, as_user: AsUser = "") -> None:
    """Register an upstream (HTTP/Icecast MP3 or AAC, or HLS); it is checked first: reachable, and audio."""
    ensure_db()
    with session() as s:
        rec = relay_service.add_source(s, name=name, url=url, actor=as_user)
        echo(f"relay source {rec.id}: {rec.name} ({rec.codec}) {rec.url}")


@sources_app.command("list")
def source_list() -> None:
    """List relay sources."""
    ensure_db()
    with session() as s:
        for r in repo.list_sources(s):
            echo(f"{r.id:>4}  {r.name}  {r.codec}  {r.url}" + ("" if r.active else "  [off]"))


@slots_app.command("add")
def slot_add(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    area: Annotated[str, typer.Argument(help="Area code or name; devices in it and below hear the relay.")],
    starts: Annotated[str, typer.Option(help="Start, HH:MM Vietnam time.")],
    ends: Annotated[str, typer.Option(help="End, HH:MM Vietnam time (same day).")],
    days: Annotated[str, typer.Option(help="daily, weekdays, weekend, mon,wed,fri, t2-t6 ...")] = "daily",
    priority: Annotated[str, typer.Option(help="thuong or uu_tien.")] = "uu_tien",
    as_user: AsUser = "",
) -> None:
    """Put a source on an area's air, e.g. VOV1 06:00-06:30 on weekdays."""
    ensure_db()
    with session() as s:
        code = area_service.code_from_option(s, area)
        rec = relay_service.add_slot(s, source=source, area_code=code, starts=starts, ends=ends, days=days,
                                     priority=priority, actor=as_user)
        echo(f"relay slot {rec.id}: {relay_service.slot_label(rec, 'en')} in {rec.area_code} ({rec.priority})")


@slots_app.command("list")
def slot_list(area: Annotated[str | None, typer.Option(help="Only slots of this area (code).")] = None) -> None:
    """List relay slots."""
    ensure_db()
    with session() as s:
        sources = {r.id: r.name for r in repo.list_sources(s)}
        for r in repo.list_slots(s, area_codes=[area] if area else None):
            echo(f"{r.id:>4}  {r.area_code}  {relay_service.slot_label(r, 'en')}  {sources.get(r.source_id, '?')}  "
                 f"{r.priority}" + ("" if r.active else "  [off]"))


@slots_app.command("disable")
def slot_disable(slot_id: int, enable: Annotated[bool, typer.Option("--enable", help="Switch it back on.")] = False,
                 as_user: AsUser = "") -> None:
    """Switch a relay slot off (or back on)."""
    ensure_db()
    with session() as s:
        relay_service.set_slot_active(s, slot_id, enable, actor=as_user)
    echo(f"relay slot {slot_id} {'enabled' if enable else 'disabled'}")


@relays_app.command("runs")
def runs(area: Annotated[str | None, typer.Option(help="Only airings of this area (code).")] = None) -> None:
    """Recent airings and what happened during each (outages, fallbacks, emergencies)."""
    ensure_db()
    with session() as s:
        for r in repo.list_runs(s, area_code=area):
            events = ", ".join(e["event"] for e in r.events)
            echo(f"slot {r.slot_id}  {r.local_date}  {r.area_code}  {r.status}  [{events}]")


@relays_app.command("icecast")
def icecast(
    write_only: Annotated[bool, typer.Option("--write-only", help="Write the configuration and exit (for a "
                                             "system-run Icecast).")] = False,
) -> None:
    """Write the installation's Icecast configuration (a mount per area with relay slots, every listener
    checked by bantin) and run icecast2 in the foreground until Ctrl-C."""
    import signal
    import threading

    ensure_db()
    with session() as s:
        codes = sorted({r.area_code for r in repo.list_slots(s, active_only=True)})
    server = streaming.icecast_server(codes)
    if write_only:
        echo(f"wrote {server.write_config()}")
        return
    server.start()
    echo(f"Icecast on {server.url} ({len(codes)} area mount(s)); listeners are checked at {streaming.auth_url()}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            if server.proc is None or server.proc.poll() is not None:
                echo(f"icecast2 stopped: {server.log_tail()}")
                raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
