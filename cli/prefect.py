"""``bantin prefect up|down|status``: one long-lived local Prefect server that CLI commands reuse.

Without ``PREFECT_API_URL``, every flow command would start Prefect's temporary server (10-14 s) and stop it
again (~3 s). With ``bantin prefect up`` (or while ``bantin serve`` runs), commands find the server recorded
under ``$BANTIN_HOME/prefect/server.json`` and run their flows against it: the runs also show in its UI.
"""

from typing import Annotated

import typer

from cli.common import echo
from settings import configure_prefect_env, get_settings, running_local_server

prefect_app = typer.Typer(help="The local Prefect server CLI commands reuse.", no_args_is_help=True)


@prefect_app.command("up")
def up(port: Annotated[int, typer.Option(help="Port of the local Prefect server.")] = 4200) -> None:
    """Start a local Prefect server in the background (kept until 'bantin prefect down')."""
    from deployments.local import start_detached_server

    settings = get_settings()
    url = running_local_server(settings)
    if url:
        echo(f"Prefect server already running: {url}")
        return
    configure_prefect_env(settings)
    url = start_detached_server(settings.home, port, settings.prefect_database_url)
    store = "PostgreSQL (BANTIN_PREFECT_DATABASE_URL)" if settings.prefect_database_url else "SQLite"
    echo(f"Prefect server running: {url} (UI: {url.removesuffix('/api')}/; database: {store}); "
         "stop it with: bantin prefect down")


@prefect_app.command("down")
def down() -> None:
    """Stop the local Prefect server started by 'bantin prefect up'."""
    from deployments.local import stop_detached_server

    echo("Prefect server stopped" if stop_detached_server(get_settings().home) else "no Prefect server was running")


@prefect_app.command("status")
def status() -> None:
    """Say whether CLI commands reuse a running Prefect server."""
    url = running_local_server(get_settings())
    echo(f"Prefect server running: {url}" if url else "no local Prefect server: flow commands start a temporary one "
         "(start one with: bantin prefect up)")
