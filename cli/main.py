"""``bantin``: the operators' command line.

Commands that run flows import Prefect lazily, so ``bantin --help`` and the bookkeeping commands
start fast. Every error is one line on stderr and a non-zero exit status.
"""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DataError, DBAPIError

from cli import devices as device_commands
from cli import programs as program_commands
from cli import search as search_commands
from cli import variants as variant_commands
from cli.areas import areas_app
from cli.audit import audit_app
from cli.common import AsUser, echo, ensure_db, need_user
from cli.drafts import draft_app
from cli.feedback import feedback_app
from cli.live import live_app
from cli.models import models_app
from cli.prefect import prefect_app
from cli.relays import relays_app
from cli.reports import reports_app
from cli.templates import templates_app
from cli.tokens import tokens_app
from cli.users import users_app
from domain.approvals import Role
from domain.areas import AreaLevel, tree_levels
from domain.deliveries import DeliveryStatus, DestinationKind, PublicationFailed
from domain.errors import DomainError, Forbidden, InvalidInput
from engines.errors import EngineError
from services import approvals as approval_service
from services import framing
from services.packages import package_view
from services.runtime import object_store, session
from settings import configure_prefect_env, get_settings, pin_environment
from storage.errors import StorageError
from storage.migrate import upgrade
from storage.repositories import areas, drafts, packages, users
from tasks.runs import RunFailed

app = typer.Typer(help="bantin: bulletins for commune loudspeakers, e-boards and source systems.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
package_app = typer.Typer(help="Inspect packages; edit a variant's text or voice.", no_args_is_help=True)
dest_app = typer.Typer(help="Publication destinations.", no_args_is_help=True)
app.add_typer(draft_app, name="draft")
app.add_typer(package_app, name="package")
package_app.command("edit")(variant_commands.edit)
package_app.command("record")(variant_commands.record)
package_app.command("translate")(variant_commands.translate)
app.add_typer(users_app, name="users")
app.add_typer(areas_app, name="areas")
app.add_typer(dest_app, name="destinations")
app.add_typer(models_app, name="models")
app.add_typer(audit_app, name="audit")
app.add_typer(templates_app, name="template")
app.add_typer(tokens_app, name="api-token")
app.add_typer(feedback_app, name="feedback")
app.add_typer(reports_app, name="reports")
app.add_typer(prefect_app, name="prefect")
app.add_typer(relays_app, name="relays")
app.add_typer(live_app, name="live")
search_commands.register(app)
device_commands.register(app)
program_commands.register(app)

@app.command()
def init(
    areas_file: Annotated[Path | None, typer.Option("--areas", help="CSV of areas (default: bundled seed).")] = None,
    demo_users: Annotated[bool, typer.Option(help="Create the labelled demo editor and approver.")] = False,
) -> None:
    """Create or migrate the database and load the area list (safe to run again)."""
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    with session() as s:
        seed = areas.read_area_csv(areas_file, known=areas.all_areas(s) if areas_file else None)
        if areas_file is None and AreaLevel.DISTRICT in areas.levels(s):
            # A pre-2025 installation: loading today's units beside the old ones would mix two maps.
            seed, changed = areas.all_areas(s), 0
            echo("this installation uses the pre-2025 units (with districts); move it to today's with "
                 "'bantin areas migrate --to 2025'")
        else:
            changed = areas.upsert_areas(s, seed)
        if demo_users:
            seed_demo_users(s)
    counts = ", ".join(f"{sum(a.level is level for a in seed.values())} {level.value}"
                       for level in tree_levels(seed))
    echo(f"database ready ({settings.database_url}); {len(seed)} areas ({counts}), {changed} added or updated")
    echo(f"object store: {object_store().describe()}")


DEMO_PASSWORD = "bantin-demo"  # printed by the demo; disable the demo accounts on a real installation


def seed_demo_users(s: Any) -> None:
    """Demo accounts with a published password, labelled as such everywhere they appear: an editor and a
    province-level approver, both for every area."""
    users.add_user(s, username="demo-editor", full_name="Biên tập viên mẫu (demo)", roles=[Role.EDITOR],
                   is_demo=True, password=DEMO_PASSWORD)
    users.add_user(s, username="demo-approver", full_name="Người duyệt mẫu (demo)", roles=[Role.APPROVER],
                   is_demo=True, password=DEMO_PASSWORD)


@areas_app.command("station")
def areas_station(
    code: str,
    name: Annotated[str | None, typer.Argument(help="Station named in the area's bulletins.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the name derived from the area.")] = False,
    as_user: AsUser = "",
) -> None:
    """Show or set the station that opens an area's bulletins ("Đài Truyền thanh xã Đa Lộc")."""
    ensure_db()
    with session() as s:
        if name is None and not reset:
            current, configured = framing.station(s, code)
            echo(f"{current} ({'configured' if configured else 'derived from the area name'})")
            return
        if not as_user:
            raise InvalidInput("who is acting? pass --as USERNAME or set BANTIN_USER")
        echo(framing.set_station(s, area_code=code, name=None if reset else name, username=as_user))


@dest_app.command("add")
def destinations_add(
    name: str, url: str,
    kind: Annotated[DestinationKind, typer.Option(help="htttn or http.")] = DestinationKind.HTTTN,
    area: Annotated[str, typer.Option(help="Only bulletins for this area (code or name); default: every area.")] = "",
    as_user: AsUser = "",
) -> None:
    """Add (or update) a destination that receives published packages by HTTP push (an admin of its area, or
    of the installation when it takes every area; audited)."""
    ensure_db()
    from services import administration

    with session() as s:
        rec = administration.add_destination(s, actor=need_user(as_user), name=name, kind=kind.value, url=url,
                                             area=area)
        scope = f" (area {rec.area_code})" if rec.area_code else ""
    echo(f"destination {name} -> {url}{scope}")


@dest_app.command("list")
def destinations_list(as_user: AsUser = "") -> None:
    """List the destinations of the areas you administer."""
    from services import administration

    ensure_db()
    with session() as s:
        for d in administration.destinations_for(s, actor=need_user(as_user)):
            echo(f"{d.id:>3}  {d.name:<20} {d.kind:<6} {'on ' if d.enabled else 'off'}  {d.area_code or '*':>5}  "
                 f"{d.url}")


# What a flow run on a worker is handed, and what the command reports once it completed (read back from the
# database: a worker's run keeps its return value to itself).
_ON_WORKER = {"produce": "draft_id", "publish": "package_id"}


def _run_flow(name: str, arg: int, **options: Any) -> Any:
    """Run flow ``name`` for ``arg``: on a worker when the installation's Prefect server has one polling the
    flow's queue (its models are loaded and nothing is imported here: seconds saved), else in this process."""
    configure_prefect_env(get_settings())
    if name in _ON_WORKER:
        from tasks.runs import start_if_served, wait_for_run

        run_id = start_if_served(name, {_ON_WORKER[name]: arg, **options}, username="cli")
        if run_id is not None:
            typer.echo(f"{name} run {run_id} handed to a worker; waiting for it (Ctrl-C leaves it running)",
                       err=True)
            wait_for_run(run_id)
            with session() as s:
                if name == "produce":
                    return packages.packages_of_draft(s, arg)[-1].id
                return packages.get_package(s, arg).status
    if name == "produce":
        from flows.produce import produce_package

        return produce_package(arg)
    if name == "retract":
        from flows.publish import retract_package

        return retract_package(arg)
    from flows.publish import publish_package

    return publish_package(arg, **options)


@app.command()
def produce(draft_id: int) -> None:
    """Produce (or resume producing) the package for a draft's latest revision."""
    ensure_db()
    with session() as s:
        drafts.get_draft(s, draft_id)
    package_id = _run_flow("produce", draft_id)
    echo(f"package {package_id} produced; review it with: bantin package show {package_id}")
    with session() as s:
        for v in package_view(s, object_store(), package_id)["variants"]:
            _warn_length(v, f"[{v['language']}] ")


def _warn_length(variant: dict[str, Any], prefix: str) -> None:
    """A variant whose audio lands more than 10 % off its slot, said in both languages."""
    if variant["length_warning"]:
        echo(f"{prefix}WARNING: {variant['length_warning']['en']} / {variant['length_warning']['vi']}")


@package_app.command("show")
def package_show(package_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a package: status, manifest hash, variants, assets, approvals, deliveries."""
    ensure_db()
    with session() as s:
        view = package_view(s, object_store(), package_id)
    if as_json:
        echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))
        return
    echo(f"package {view['id']} (draft {view['draft_id']} r{view['revision']}): {view['status']}")
    echo(f"  title:    {view['title']}")
    echo(f"  priority: {view['priority']}   areas: {', '.join(view['areas'])}")
    echo(f"  manifest: {view['manifest_hash'] or '-'}")
    if view["error"]:
        echo(f"  error:    {view['error']}")
    for v in view["variants"]:
        echo(f"  [{v['language']}] {v['status']}" + (f": {v['blocked_reason']}" if v["blocked_reason"] else ""))
        _warn_length(v, "      ")
        for a in v["assets"]:
            echo(f"      {a['kind']:<10} {a['size']:>8} B  {a['location']}")
    for a in view["approvals"]:
        echo(f"  {a['decision']} by {a['approver']} at {a['at']} for {a['manifest_hash'][:12]}"
              + (f": {a['reason']}" if a["reason"] else ""))
    for d in view["deliveries"]:
        echo(f"  -> {d['destination']}: {d['status']} after {d['attempts']} attempt(s)"
              + (f", receipt {d['receipt_id']}" if d["receipt_id"] else "")
              + (f", last error {d['last_error']}"
                 if d["last_error"] and d["status"] != DeliveryStatus.DELIVERED else ""))


@app.command()
def approve(
    package_id: int,
    as_user: AsUser = "",
    manifest: Annotated[str | None, typer.Option(help="The manifest hash you reviewed (12+ characters).")] = None,
) -> None:
    """Approve a package for publication, bound to its current manifest."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is approving? pass --as USERNAME or set BANTIN_USER")
    with session() as s:
        rec = approval_service.approve_package(s, package_id=package_id, username=as_user, reviewed_hash=manifest)
    echo(f"package {package_id} approved by {as_user} (manifest {rec.manifest_hash[:12]})")
    echo(f"next: bantin publish {package_id}")


@app.command()
def reject(
    package_id: int,
    reason: Annotated[str, typer.Option(help="Why; the editor sees this.")],
    as_user: AsUser = "",
) -> None:
    """Reject a package with a reason for the editor."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is rejecting? pass --as USERNAME or set BANTIN_USER")
    with session() as s:
        approval_service.reject_package(s, package_id=package_id, username=as_user, reason=reason)
    echo(f"package {package_id} rejected")


@app.command()
def withdraw(
    package_id: int,
    reason: Annotated[str, typer.Option(help="Why; kept in the audit log.")],
    kill: Annotated[bool, typer.Option(help="Kill instead: it must not be played at all (legal, safety).")] = False,
    as_user: AsUser = "",
) -> None:
    """Withdraw (or kill) an approved, scheduled or published package."""
    ensure_db()
    if not as_user:
        raise InvalidInput("who is withdrawing? pass --as USERNAME or set BANTIN_USER")
    with session() as s:
        approval_service.withdraw_package(s, package_id=package_id, username=as_user, reason=reason, kill=kill)
    echo(f"package {package_id} {'killed' if kill else 'withdrawn'}")
    notices = _run_flow("retract", package_id)  # devices now (MQTT stop for emergencies), then destinations
    if notices:
        echo(f"withdrawal notices: {notices}")


@app.command()
def publish(
    package_id: int,
    resend_dead: Annotated[bool, typer.Option(help="Retry deliveries that were given up.")] = False,
) -> None:
    """Publish an approved package to every enabled destination (safe to rerun)."""
    ensure_db()
    with session() as s:
        packages.get_package(s, package_id)
    status = _run_flow("publish", package_id, resend_dead=resend_dead)
    echo(f"package {package_id}: {status}")


@app.command("publish-due")
def publish_due() -> None:
    """Publish the scheduled packages whose embargo has passed (cron or the Prefect schedule runs this)."""
    ensure_db()
    configure_prefect_env(get_settings())
    from flows.publish import publish_due as flow

    published = flow()
    echo(f"published {len(published)} scheduled package(s)" + (f": {published}" if published else ""))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default BANTIN_WEB_HOST, 127.0.0.1).")
                    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default BANTIN_WEB_PORT, 8000).")] = None,
    flows: Annotated[bool, typer.Option("--flows/--no-flows", help="Also run a worker (and a local Prefect server "
                                        "unless PREFECT_API_URL names one). --no-flows: the web app alone, for "
                                        "installations whose workers run elsewhere (needs PREFECT_API_URL).")] = True,
    flows_only: Annotated[bool, typer.Option("--flows-only", help="Only the worker (and local Prefect server), "
                                             "no web app.")] = False,
    prefect_port: Annotated[int, typer.Option(help="Port of the local Prefect server started when "
                                              "PREFECT_API_URL is not set.")] = 4200,
) -> None:
    """Run the web app (editors, translators, approvers, programs), the JSON API and the flows.

    Every flow runs as a Prefect flow run on the work pool: this starts, unless PREFECT_API_URL names a
    server, a local Prefect server (its UI lists the deployments and every run), registers the deployments
    and runs a worker that takes emergencies first. Ctrl-C or SIGTERM stops the worker, then the server."""
    from os import environ

    import uvicorn

    from deployments.local import local_stack
    from services import runtime
    from web.app import SERVER_OPTIONS, create_app

    ensure_db()
    settings = get_settings()
    host, port = host or settings.web_host, port or settings.web_port
    # Links in HTTTN payloads point at this address unless BANTIN_PUBLIC_BASE_URL is set: the workers started
    # below (their environment is this one's) and this process must agree on it.
    environ["BANTIN_WEB_HOST"], environ["BANTIN_WEB_PORT"] = host, str(port)
    runtime.reset()
    settings = get_settings()
    configure_prefect_env(settings)

    if not (flows or flows_only):
        if not environ.get("PREFECT_API_URL"):
            raise InvalidInput("--no-flows needs PREFECT_API_URL: the Prefect server whose workers run the flows")
        echo(f"bantin web app on http://{host}:{port}/  (API docs: /docs)")
        with _icecast(port):
            uvicorn.run(create_app(settings), host=host, port=port, log_level="info", **SERVER_OPTIONS)
        return
    echo("starting Prefect" + ("" if environ.get("PREFECT_API_URL") else
                               f" server on http://127.0.0.1:{prefect_port}/ (log: {settings.home}/logs)") + " ...")
    with local_stack(home=settings.home, prefect_port=prefect_port,
                     database_url=settings.prefect_database_url) as api_url:
        echo(f"Prefect API {api_url}; deployments registered, worker running (log: {settings.home}/logs/flows.log)")
        if flows_only:
            from deployments.local import block_until_stopped

            echo("Ctrl-C to stop")
            block_until_stopped()
            return
        echo(f"bantin web app on http://{host}:{port}/  (API docs: /docs)")
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="info",
                                               **SERVER_OPTIONS))
        with _icecast(port):
            server.run()  # returns on SIGTERM or Ctrl-C; then the stack stops the worker and the server


@contextmanager
def _icecast(port: int) -> Iterator[None]:
    """Icecast beside the web app (relays); its listener check is this app's ``/icecast/v1/listener``."""
    from services import streaming

    with streaming.serving(f"http://127.0.0.1:{port}/icecast/v1/listener") as ice:
        if ice is not None:
            echo(f"Icecast (relays) on {ice.url}/ (log: {ice.log_path})")
        yield


@app.command()
def demo(
    keep_quiet: Annotated[bool, typer.Option("--quiet/--verbose", help="Hide Prefect's run logs.")] = True,
) -> None:
    """Run the whole chain on a sample announcement and print a report."""
    from cli.demo import run_demo

    run_demo(quiet=keep_quiet)


# The one table from error classes to exit statuses: 1 infrastructure (a run a worker failed too), 2 bad
# input (and every other domain or engine error), 3 a tampered audit log (``bantin audit``), 4 not allowed.
EXIT_CODES: dict[type[Exception], int] = {StorageError: 1, RunFailed: 1, DomainError: 2, Forbidden: 4}


def exit_status(exc: BaseException) -> int:
    """The exit status of :data:`EXIT_CODES` for ``exc`` (its nearest class in the table; 1 when none is)."""
    return next((EXIT_CODES[c] for c in type(exc).__mro__ if c in EXIT_CODES), EXIT_CODES[StorageError])


def main() -> None:
    """Entry point: run the app, turning expected errors into one line and the exit status of
    :data:`EXIT_CODES`."""
    pin_environment()  # the processes a command starts open the same installation, whatever their directory
    try:
        app()
    except Forbidden as exc:
        typer.echo(f"error: not allowed: {exc}", err=True)
        sys.exit(exit_status(exc))
    except (OverflowError, UnicodeError, DataError):
        typer.echo("error: a value is out of range or holds characters that cannot be stored", err=True)
        sys.exit(EXIT_CODES[DomainError])
    except (DomainError, EngineError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CODES[DomainError])  # engine and file errors are bad input too
    except ValidationError as exc:  # settings from the environment
        first = exc.errors()[0]
        loc = "_".join(str(x) for x in first.get("loc", ())).upper()
        msg = str(first.get("msg", "")).removeprefix("Value error, ")
        typer.echo(f"error: bad setting BANTIN_{loc}: {msg}" if loc else f"error: bad settings: {msg}", err=True)
        sys.exit(2)
    except (StorageError, DBAPIError, OSError, PublicationFailed, RunFailed) as exc:
        typer.echo(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", err=True)
        sys.exit(exit_status(exc))


if __name__ == "__main__":
    main()
