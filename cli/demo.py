"""``bantin demo`` / ``make demo``: the main path end to end on embedded defaults, with a report.

Submit a sample commune announcement (Vietnamese, with a Khmer variant requested) -> produce ->
approve by the seeded demo approver -> publish to a reference receiver started on loopback.
"""

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import typer

from cli.main import DEMO_PASSWORD, seed_demo_users
from domain.deliveries import DestinationKind
from domain.packages import VariantStatus
from domain.priority import Priority
from services import approvals as approval_service
from services import drafts as draft_service
from services import runtime
from services.packages import package_view
from services.runtime import object_store, session
from settings import configure_prefect_env, get_settings
from storage.migrate import upgrade
from storage.repositories import areas, destinations
from web.reference_receiver import ReferenceReceiver

T = TypeVar("T")
SAMPLE = "thong-bao-tiem-chung.txt"
AREA = "29374"  # Xã Châu Thành, tỉnh Vĩnh Long (with the former Đa Lộc, Trà Vinh): many Khmer residents
DEMO_DESTINATION = "demo-htttn-vinh-long"


def _timed(steps: list[tuple[str, float]], name: str, fn: Callable[[], T]) -> T:
    typer.echo(f"… {name}")
    start = time.perf_counter()
    result = fn()
    steps.append((name, time.perf_counter() - start))
    return result


def run_demo(*, quiet: bool = True) -> dict[str, Any]:
    """Run the chain and print the report; returns the package view (tests read it)."""
    settings = get_settings()
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    configure_prefect_env(settings)
    steps: list[tuple[str, float]] = []

    def init() -> None:
        settings.home.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
        with session() as s:
            areas.upsert_areas(s, areas.read_area_csv())
            seed_demo_users(s)

    _timed(steps, "init (migrate, areas, demo users)", init)
    from flows.produce import produce_package  # Prefect is imported only once the demo needs it
    from flows.publish import publish_package

    if quiet:
        logging.getLogger("prefect").setLevel(logging.WARNING)
    text = resources.files("cli").joinpath("samples", SAMPLE).read_text(encoding="utf-8")
    with _web_app(), ReferenceReceiver(settings.home / "demo-receiver") as receiver:
        with session() as s:
            destinations.add_destination(s, name=DEMO_DESTINATION, kind=DestinationKind.HTTTN,
                                       url=receiver.url)
        try:
            draft_id, package_id = _chain(steps, text, produce_package, publish_package)
        finally:  # the receiver stops with the demo: later publishes must not keep retrying it
            with session() as s:
                destinations.disable_destination(s, DEMO_DESTINATION)
        received = list(receiver.state.by_key.values())
    with session() as s:
        view = package_view(s, object_store(), package_id)
    _report(view, steps, received, settings.home)
    return view


@contextmanager
def _web_app() -> Iterator[str]:
    """The web app on loopback while the demo runs: the receiver fetches the assets over HTTP from it, as real
    receivers fetch them from ``bantin serve``. On the configured web port when it is free, else on another free
    port, which the payloads' links then name."""
    from web.app import create_app
    from web.serving import serve_in_thread

    port = get_settings().web_port
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:  # taken (a `bantin serve` of another installation, or anything else)
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
    os.environ["BANTIN_WEB_HOST"], os.environ["BANTIN_WEB_PORT"] = "127.0.0.1", str(port)
    runtime.reset()
    with serve_in_thread(create_app(get_settings()), port) as base:
        yield base


def _chain(
    steps: list[tuple[str, float]], text: str, produce_package: Any, publish_package: Any
) -> tuple[int, int]:
    """Submit, produce, approve, publish; returns (draft id, package id)."""
    def submit() -> int:
        req = draft_service.DraftRequest(
            body=text, area_codes=[AREA], languages="vi,km", priority=Priority.UU_TIEN, author="demo-editor",
            source_ref="215/KH-UBND", requesting_unit="Ủy ban nhân dân xã Châu Thành",
        )
        with session() as s:
            return draft_service.submit_text_draft(s, object_store(), req).draft_id

    draft_id = _timed(steps, "submit draft (demo-editor)", submit)
    package_id = _timed(steps, "produce package (Prefect flow)", lambda: produce_package(draft_id))

    def approve() -> None:
        with session() as s:
            approval_service.approve_package(s, package_id=package_id, username="demo-approver")

    _timed(steps, "approve (demo-approver, a demo account)", approve)
    _timed(steps, "publish (Prefect flow)", lambda: publish_package(package_id))
    return draft_id, package_id


def _report(view: dict[str, Any], steps: list[tuple[str, float]], received: list[Any], home: Path) -> None:
    store = object_store()
    typer.echo("\n" + "=" * 72)
    typer.echo(f"bantin demo report — package {view['id']} (draft {view['draft_id']}): {view['status']}")
    typer.echo("=" * 72)
    typer.echo("Steps:")
    for name, seconds in steps:
        typer.echo(f"  {seconds:7.2f} s  {name}")
    typer.echo(f"  {sum(s for _, s in steps):7.2f} s  total")
    typer.echo(f"\nTitle: {view['title']}")
    typer.echo(f"Manifest SHA-256: {view['manifest_hash']}")
    for v in view["variants"]:
        if v["status"] != VariantStatus.READY:
            typer.echo(f"\n[{v['language']}] BLOCKED: {v['blocked_reason']}")
            continue
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for a in v["assets"]:
            by_kind.setdefault(a["kind"], []).append(a)
        script = store.get_bytes(by_kind["script"][0]["key"]).decode("utf-8")
        meta = by_kind["script"][0]["meta"]
        typer.echo(f"\n[{v['language']}] loudspeaker script (~{meta['estimated_seconds']} s of speech, "
                   f"sentences {meta['sentences']} chosen by {meta['method']}, prompt {meta['prompt']}):")
        for line in script.splitlines():
            typer.echo(f"    {line}")
        board = store.get_bytes(by_kind["board_text"][0]["key"]).decode("utf-8")
        typer.echo(f"[{v['language']}] board text:")
        for line in board.splitlines():
            typer.echo(f"    {line}")
        if "audio" in by_kind:
            m = by_kind["audio"][0]["meta"]
            typer.echo(f"[{v['language']}] audio: measured {m['output_i']:.2f} LUFS integrated "
                       f"(target {m['target']['i']}), true peak {m['output_tp']:.2f} dBTP "
                       f"(ceiling {m['target']['tp']}), {m['duration_s']:.1f} s, "
                       f"{'ON TARGET' if m['on_target'] else 'OFF TARGET'} (±0.5 LU); "
                       f"synthetic voice (espeak-ng): a placeholder, not broadcast quality")
    typer.echo(f"\nAssets ({store.describe()}):")
    for v in view["variants"]:
        for a in v["assets"]:
            typer.echo(f"  [{v['language']}] {a['kind']:<10} {a['size']:>8} B  {a['location']}")
    typer.echo("\nApprovals:")
    for a in view["approvals"]:
        typer.echo(f"  {a['decision']} by {a['approver']} (demo account) for manifest {a['manifest_hash'][:12]}")
    typer.echo("Deliveries:")
    for d in view["deliveries"]:
        typer.echo(f"  {d['destination']}: {d['status']} after {d['attempts']} attempt(s), receipt {d['receipt_id']}")
    for r in received:
        typer.echo(f"  receiver verified {r.verified_assets} asset(s) against the manifest; saved in {r.path}")
    typer.echo("\nOpen the web app (Vietnamese, with an English switch):")
    typer.echo("  .venv/bin/bantin serve      then http://127.0.0.1:8000/")
    typer.echo(f"  demo logins: demo-editor / {DEMO_PASSWORD}   demo-approver / {DEMO_PASSWORD}   (demo accounts: "
               "disable them on a real installation with 'bantin users disable')")
    typer.echo("\nTry it yourself:")
    typer.echo(f"  .venv/bin/bantin package show {view['id']}")
    typer.echo(f"  .venv/bin/bantin draft submit my-announcement.txt --area {AREA} --lang vi --as demo-editor")
    typer.echo(f"  (state lives in {home.resolve()})")
