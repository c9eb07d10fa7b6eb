"""The sweeper fails relay runs and live sessions whose carrier is gone (no heartbeat, or long past their end),
with an event and an audit entry; clocks are injected, nothing sleeps."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.streams.test_relays import _audit


def test_a_relay_run_whose_carrier_went_silent_is_marked_failed(stream_home: Path) -> None:
    from domain.programs import VN_TZ
    from services import relays
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:
        src = repo.add_source(s, name="VOV1", url="http://vov.example/vov1.mp3", codec="mp3", actor="admin")
        slot = repo.add_slot(s, actor="admin", source_id=src.id, area_code="29377", starts="06:00", ends="06:30",
                             weekdays="0123456", priority="uu_tien")
    starts = datetime(2026, 12, 7, 6, 0, tzinfo=VN_TZ).astimezone(UTC)
    with session() as s:
        for day in ("2026-12-07", "2026-12-08"):
            occ, _, _ = relays.occurrence_of(s, slot.id, day)
            relays.claim(s, occ)
        relays.heartbeat(s, slot.id, "2026-12-07", now=starts - timedelta(minutes=3))  # claimed ahead, waiting
        relays.record_event(s, slot.id, "2026-12-08", "ended", "1 outage(s)", status="fallback")  # over, on files
    with session() as s:
        assert relays.sweep_orphans(s, starts + timedelta(seconds=60)) == []  # not yet under way long enough
        relays.heartbeat(s, slot.id, "2026-12-07", now=starts + timedelta(seconds=60))
    with session() as s:
        assert relays.sweep_orphans(s, starts + timedelta(seconds=170)) == []  # 110 s since the last beat
        assert relays.sweep_orphans(s, starts + timedelta(seconds=181)) == [(slot.id, "2026-12-07")]
        assert relays.sweep_orphans(s, starts + timedelta(days=3)) == []  # once only; the ended run untouched
    with session() as s:
        runs = {r.local_date: r for r in repo.list_runs(s)}
        assert (runs["2026-12-07"].status, runs["2026-12-08"].status) == ("failed", "fallback")
        assert runs["2026-12-07"].events[-1]["event"] == "failed"
        assert "no heartbeat" in runs["2026-12-07"].events[-1]["detail"]
    assert [(e["entity_id"], e["date"]) for e in _audit("relay.failed")] == [(str(slot.id), "2026-12-07")]


def test_a_live_session_without_a_carrier_is_ended_as_failed(accounts: Path) -> None:
    from services import live
    from services.runtime import session

    t0 = datetime.now(UTC).replace(microsecond=0)
    with session() as s:
        quiet = live.start(s, area_codes=["29377"], actor="approver_daloc", now=t0)  # no browser feeds it
        fed = live.start(s, area_codes=["29380"], actor="approver_mychanh", now=t0)
        live.heartbeat(s, [quiet.id, fed.id], now=t0 + timedelta(seconds=10))
    with session() as s:
        assert live.sweep_orphans(s, t0 + timedelta(seconds=129)) == []
        live.heartbeat(s, [fed.id], now=t0 + timedelta(seconds=125))  # its web node is alive
    with session() as s:
        assert live.sweep_orphans(s, t0 + timedelta(seconds=131)) == [quiet.id]
        deadline = live.get(s, fed.id).deadline.replace(tzinfo=UTC)
        live.heartbeat(s, [fed.id], now=deadline + timedelta(seconds=100))  # alive, yet nobody ended it
    with session() as s:
        assert live.sweep_orphans(s, deadline + timedelta(seconds=110)) == []
        assert live.sweep_orphans(s, deadline + timedelta(seconds=121)) == [fed.id]
        assert [(r.status, r.end_reason) for r in (live.get(s, quiet.id), live.get(s, fed.id))] == [
            ("ended", "failed"), ("ended", "failed")]
        assert live.live_sessions(s) == []
    assert [(e["entity_id"], e["why"]) for e in _audit("live.carrier_lost")] == [
        (str(quiet.id), "no heartbeat"), (str(fed.id), "past its end")]
    assert [(e["entity_id"], e["reason"]) for e in _audit("live.stop")] == [
        (str(quiet.id), "failed"), (str(fed.id), "failed")]


def test_the_sweep_flow_fails_a_live_session_whose_carrier_is_gone(prefect_harness: None, accounts: Path) -> None:
    from flows.sweep import sweep
    from services import live
    from services.runtime import session

    with session() as s:
        orphan = live.start(s, area_codes=["29377"], actor="approver_daloc").id  # no browser ever fed it
    now = datetime.now(UTC)
    assert sweep(now=now)["streams"] == {"relay_runs": [], "live_sessions": []}
    assert sweep(now=now + timedelta(seconds=121))["streams"] == {"relay_runs": [], "live_sessions": [str(orphan)]}
    with session() as s:
        assert (live.get(s, orphan).status, live.get(s, orphan).end_reason) == ("ended", "failed")
