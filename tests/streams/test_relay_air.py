"""One relay airing on a real icecast2: the upstream reaches the area's mount, an upstream outage puts the
area's default content on the mount and is logged (run events and audit log), the upstream coming back
resumes the relay; the relay-due step claims each airing once."""

import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import wait_for


def _stream_bytes(url: str, want: int = 8192) -> int:
    got = 0
    with httpx.stream("GET", url, timeout=10) as answer:
        if answer.status_code != 200:
            return 0
        for chunk in answer.iter_bytes():
            got += len(chunk)
            if got >= want:
                break
    return got


def slot_now(minutes: int = 5) -> tuple[str, str, str]:
    """A slot (HH:MM start, HH:MM end, Vietnam date) on the air now; waits out the last minutes of a day."""
    from domain.programs import VN_TZ

    while True:
        now = datetime.now(VN_TZ)
        start = now.replace(second=0, microsecond=0)
        end = start + timedelta(minutes=minutes)
        if end.date() == start.date():
            return start.strftime("%H:%M"), end.strftime("%H:%M"), start.date().isoformat()
        time.sleep(5)


def real_package(tmp_path: Path, *, title: str, area: str = "29377", priority: str = "thuong",
                 expires_at: datetime | None = None, frequency: int = 880) -> tuple[int, str]:
    """A published package for ``area`` whose audio is a real 3 s MP3 tone; returns (id, manifest hash)."""
    from engines.icecast import tone_command
    from services.runtime import object_store, session
    from storage.models import AssetRecord
    from tests.devices.factory import published_package

    mp3 = tmp_path / f"{frequency}-{title[:8]}.mp3"
    subprocess.run(tone_command(str(mp3), frequency=frequency, duration_s=3.0).args, check=True,
                   capture_output=True)
    package_id, manifest = published_package(title=title, areas=(area,), languages="vi", priority=priority,
                                             expires_at=expires_at)
    stored = object_store().put_file(mp3, ext="mp3", media_type="audio/mpeg")
    with session() as s:
        for rec in s.query(AssetRecord).filter_by(package_id=package_id, kind="audio"):
            rec.key, rec.sha256, rec.size = stored.key, stored.sha256, stored.size
    return package_id, manifest


def admin_user() -> None:
    from domain.approvals import Role
    from services.runtime import session
    from storage.repositories import users

    with session() as s:  # idempotent: the same fields again return the same account
        users.add_user(s, username="admin", full_name="Quản trị", roles=[Role.ADMIN])


def real_default_content(tmp_path: Path, area: str = "29377") -> int:
    """A real-audio package set as the area's default content (what plays on the mount during an outage)."""
    from services import default_content
    from services.runtime import session

    admin_user()
    package_id, _ = real_package(tmp_path, title="Nhạc hiệu đài xã", area=area)
    with session() as s:
        default_content.set_default_content(s, area_code=area, package_ids=[package_id], actor="admin")
    return package_id


def slot_ahead(lead_s: float = 25.0) -> tuple[str, str, str, float]:
    """A one-minute slot starting at the next minute boundary at least ``lead_s`` away (same Vietnam day):
    (HH:MM start, HH:MM end, Vietnam date, start as unix seconds)."""
    from domain.programs import VN_TZ

    while True:
        start = (datetime.now(VN_TZ) + timedelta(seconds=lead_s + 60)).replace(second=0, microsecond=0)
        end = start + timedelta(minutes=1)
        if end.date() == start.date() and end.hour + end.minute > 0:
            return start.strftime("%H:%M"), end.strftime("%H:%M"), start.date().isoformat(), start.timestamp()
        time.sleep(5)


def _slot(url: str, area: str = "29377", span: tuple[str, str, str] | None = None) -> tuple[int, str]:
    from services.runtime import session
    from storage.repositories import relays as repo

    starts, ends, day = span or slot_now()
    with session() as s:
        src = repo.add_source(s, name="VOV1", url=url, codec="mp3", actor="admin")
        slot = repo.add_slot(s, actor="admin", source_id=src.id, area_code=area, starts=starts, ends=ends,
                             weekdays="0123456", priority="uu_tien")
        return slot.id, day


def _run(slot_id: int, day: str) -> tuple[str, list[str]]:
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:
        run = repo.get_run(s, slot_id, day)
        return (run.status, [e["event"] for e in run.events]) if run else ("", [])


@pytest.mark.slow
def test_an_outage_falls_back_to_default_content_is_logged_and_the_relay_resumes(
        icecast: object, upstream: object, tmp_path: Path) -> None:
    from services import relay_air, streaming
    from tests.streams.test_icecast import boxes
    from tests.streams.test_relays import _audit

    real_default_content(tmp_path)
    station = upstream("/vov1.mp3")  # type: ignore[operator]
    slot_id, day = _slot(station)
    listen = streaming.device_listen_url(boxes()[0], "29377", int(time.time()) + 600)
    done: list[object] = []
    carrier = threading.Thread(target=lambda: done.append(relay_air.carry(
        slot_id, day, until=time.time() + 40, retry_s=4, emergency_check_s=2)), daemon=True)
    carrier.start()
    try:
        wait_for(lambda: "/area-29377.mp3" in icecast.sources(), 15, "the relay on the mount")  # type: ignore[attr-defined]
        assert _stream_bytes(listen) >= 8192
        assert _run(slot_id, day) == ("running", ["started"])

        for feed in upstream.feeds:  # type: ignore[attr-defined]
            feed.stop()  # the upper-level station goes off the air
        wait_for(lambda: "fallback" in _run(slot_id, day)[1], 20, "the fallback")
        assert _run(slot_id, day) == ("fallback", ["started", "upstream_down", "fallback"])
        wait_for(lambda: "/area-29377.mp3" in icecast.sources(), 10, "the default content on the mount")  # type: ignore[attr-defined]
        assert _stream_bytes(listen) >= 8192  # listeners hear the commune's default content, not silence

        upstream("/vov1.mp3")  # type: ignore[operator]  # back on the air
        wait_for(lambda: "upstream_back" in _run(slot_id, day)[1], 20, "the relay to resume")
        wait_for(lambda: "/area-29377.mp3" in icecast.sources(), 10, "the relay on the mount again")  # type: ignore[attr-defined]
        assert _stream_bytes(listen) >= 8192
    finally:
        carrier.join(timeout=60)
    assert not carrier.is_alive()
    assert _run(slot_id, day) == ("fallback", ["started", "upstream_down", "fallback", "upstream_back", "ended"])
    downs = _audit("relay.upstream_down")
    assert [(a["actor"], a["entity_id"], a["area_code"]) for a in downs] == [("system", str(slot_id), "29377")]
    assert [a["detail"] for a in _audit("relay.fallback")] == ["1 default item(s) on the mount"]
    wait_for(lambda: "/area-29377.mp3" not in icecast.sources(), 10, "the mount to close after the airing")  # type: ignore[attr-defined]


def test_an_airing_is_claimed_once_and_only_when_due(stream_home: Path) -> None:
    from domain.programs import VN_TZ
    from services import relays
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:
        src = repo.add_source(s, name="VOV1", url="http://vov.example/vov1.mp3", codec="mp3", actor="admin")
        slot = repo.add_slot(s, actor="admin", source_id=src.id, area_code="29377", starts="06:00", ends="06:30",
                             weekdays="01234", priority="uu_tien")
    monday = datetime(2026, 12, 7, 5, 57, 30, tzinfo=VN_TZ).astimezone(UTC)
    with session() as s:
        assert relays.due_airings(s, monday - timedelta(minutes=5)) == []  # too early
        due = relays.due_airings(s, monday)
        assert [(o.slot_id, o.local_date.isoformat()) for o, _, _ in due] == [(slot.id, "2026-12-07")]
        assert relays.claim(s, due[0][0]) is not None
        assert relays.claim(s, due[0][0]) is None  # a second relay-due run does not take it again
        assert relays.due_airings(s, monday + timedelta(minutes=10)) == []
        saturday = datetime(2026, 12, 12, 5, 59, tzinfo=VN_TZ).astimezone(UTC)
        assert relays.due_airings(s, saturday) == []  # weekdays only
    with session() as s:
        assert [(r.status, r.local_date) for r in repo.list_runs(s)] == [("claimed", "2026-12-07")]


@pytest.mark.slow
def test_the_relay_flows_carry_an_airing_on_prefect(prefect_harness: None, icecast: object, upstream: object) -> None:
    from flows.relay import relay_airing, relay_due

    station = upstream("/vov1.mp3")  # type: ignore[operator]
    slot_id, day = _slot(station)
    assert relay_due(now=datetime(2026, 1, 1, 3, 0, tzinfo=UTC)) == []  # nothing due on that night
    seen: list[bool] = []
    watcher = threading.Thread(target=lambda: seen.append(bool(wait_for(
        lambda: "/area-29377.mp3" in icecast.sources(), 20, "the relay on the mount"))), daemon=True)  # type: ignore[attr-defined]
    watcher.start()
    result = relay_airing(slot_id, day, until=time.time() + 12)
    watcher.join(timeout=30)
    assert result == {"status": "done", "events": ["started", "ended"]}
    assert seen == [True]
    assert _run(slot_id, day) == ("done", ["started", "ended"])
