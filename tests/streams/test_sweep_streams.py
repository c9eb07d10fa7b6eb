"""The sweeper fails relay runs and live sessions whose carrier is gone (no heartbeat, or long past their end),
with an event and an audit entry; clocks are injected, nothing sleeps."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.streams.test_relays import _audit


def _slot() -> int:
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:
        src = repo.add_source(s, name="VOV1", url="http://vov.example/vov1.mp3", codec="mp3", actor="admin")
        return repo.add_slot(s, actor="admin", source_id=src.id, area_code="29377", starts="06:00", ends="06:30",
                             weekdays="0123456", priority="uu_tien").id


STARTS = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)  # 06:00 in Vietnam on 2026-12-07; the airing ends 23:30 UTC
ENDS = STARTS + timedelta(minutes=30)


def _claim(slot_id: int, day: str = "2026-12-07") -> None:
    from services import relays
    from services.runtime import session

    with session() as s:
        occ, _, _ = relays.occurrence_of(s, slot_id, day)
        assert relays.claim(s, occ) is not None


def _runs() -> dict[str, tuple[str, list[str]]]:
    from services.runtime import session
    from storage.repositories import relays as repo

    with session() as s:
        return {r.local_date: (r.status, [e["event"] for e in r.events]) for r in repo.list_runs(s)}


def test_a_carried_relay_run_whose_heartbeat_stopped_is_marked_failed(stream_home: Path) -> None:
    from services import relays
    from services.runtime import session

    slot_id = _slot()
    for day in ("2026-12-07", "2026-12-08"):
        _claim(slot_id, day)
    with session() as s:
        assert relays.take(s, slot_id, "2026-12-07", now=STARTS - timedelta(seconds=5)) is True
        assert relays.take(s, slot_id, "2026-12-08", now=STARTS + timedelta(days=1)) is True
        relays.record_event(s, slot_id, "2026-12-08", "ended", "1 outage(s)")  # over, on files
    with session() as s:
        assert relays.heartbeat(s, slot_id, "2026-12-07", now=STARTS + timedelta(seconds=60)) is True
    with session() as s:
        assert relays.sweep_orphans(s, STARTS + timedelta(seconds=170)) == []  # 110 s since the last beat
        assert relays.sweep_orphans(s, STARTS + timedelta(seconds=181)) == [(slot_id, "2026-12-07")]
        assert relays.sweep_orphans(s, STARTS + timedelta(days=3)) == []  # once only; the ended run untouched
    with session() as s:
        assert relays.heartbeat(s, slot_id, "2026-12-07") is False  # a carrier that wakes up stops
    runs = _runs()
    assert runs["2026-12-07"] == ("failed", ["started", "failed"])
    assert runs["2026-12-08"] == ("running", ["started", "ended"])
    with session() as s:
        from storage.repositories import relays as repo

        assert "no heartbeat" in repo.get_run(s, slot_id, "2026-12-07").events[-1]["detail"]  # type: ignore[union-attr]
    assert [(e["entity_id"], e["date"]) for e in _audit("relay.failed")] == [(str(slot_id), "2026-12-07")]


def test_a_claimed_run_a_busy_queue_starts_late_is_carried_not_failed(stream_home: Path) -> None:
    """The relay queue is busy: the carrier starts ten minutes into the airing. The sweeper leaves the claimed
    run alone (its flow run is still queued), and the late carrier takes it and carries the rest."""
    from services import relays
    from services.runtime import session

    slot_id = _slot()
    _claim(slot_id)
    with session() as s:
        relays.queued(s, slot_id, "2026-12-07", "run-1")
    asked: list[str] = []

    def still_queued(run_id: str) -> bool:
        asked.append(run_id)
        return False

    with session() as s:
        assert relays.sweep_orphans(s, STARTS + timedelta(minutes=9), flow_run_gone=still_queued) == []
        assert relays.sweep_orphans(s, STARTS + timedelta(minutes=9)) == []  # no Prefect to ask: waits too
    assert asked == ["run-1"]
    with session() as s:
        assert relays.take(s, slot_id, "2026-12-07", now=STARTS + timedelta(minutes=10)) is True
    with session() as s:
        assert relays.sweep_orphans(s, STARTS + timedelta(minutes=11), flow_run_gone=still_queued) == []
    assert _runs()["2026-12-07"] == ("running", ["queued", "started"])
    assert _audit("relay.failed") == []


def test_a_claimed_run_is_failed_once_its_flow_run_is_gone_or_its_airing_ended(stream_home: Path) -> None:
    from services import relays
    from services.runtime import session

    slot_id = _slot()
    for day in ("2026-12-07", "2026-12-08"):
        _claim(slot_id, day)
    with session() as s:
        relays.queued(s, slot_id, "2026-12-07", "run-crashed")
    gone = {"run-crashed"}.__contains__
    with session() as s:
        assert relays.sweep_orphans(s, STARTS + timedelta(seconds=30), flow_run_gone=gone) == [
            (slot_id, "2026-12-07")]
    next_ends = ENDS + timedelta(days=1)  # no flow run noted (carried inline): only the airing's end counts
    with session() as s:
        assert relays.sweep_orphans(s, next_ends + timedelta(seconds=119), flow_run_gone=gone) == []
        assert relays.sweep_orphans(s, next_ends + timedelta(seconds=121), flow_run_gone=gone) == [
            (slot_id, "2026-12-08")]
    runs = _runs()
    assert runs == {"2026-12-07": ("failed", ["queued", "failed"]), "2026-12-08": ("failed", ["failed"])}
    details = [e["detail"] for e in _audit("relay.failed")]
    assert details == ["the relay carrier is gone (its flow run ended without carrying it); marked failed by "
                       "the sweeper", "the relay carrier is gone (no carrier started before the airing ended); "
                       "marked failed by the sweeper"]


def test_a_carrier_finding_its_run_failed_or_taken_does_not_carry_it(stream_home: Path) -> None:
    from services import relays
    from services.runtime import session

    slot_id = _slot()
    for day in ("2026-12-07", "2026-12-08", "2026-12-09"):
        _claim(slot_id, day)
    with session() as s:
        relays.queued(s, slot_id, "2026-12-07", "run-1")
        assert relays.sweep_orphans(s, STARTS + timedelta(seconds=1), flow_run_gone=lambda _id: True) == [
            (slot_id, "2026-12-07")]
    with session() as s:
        assert relays.take(s, slot_id, "2026-12-07", now=STARTS + timedelta(seconds=2)) is False  # failed already
        day2 = STARTS + timedelta(days=1)
        assert relays.take(s, slot_id, "2026-12-08", now=day2) is True
        assert relays.take(s, slot_id, "2026-12-08", now=day2) is False  # a second carrier of the same airing
        day3_end = ENDS + timedelta(days=2)
        assert relays.take(s, slot_id, "2026-12-09", now=day3_end + timedelta(seconds=1)) is False  # too late
    runs = _runs()
    assert runs["2026-12-07"] == ("failed", ["queued", "failed", "not_carried"])
    assert runs["2026-12-08"] == ("running", ["started", "not_carried"])
    assert runs["2026-12-09"] == ("failed", ["missed"])
    assert [e["date"] for e in _audit("relay.not_carried")] == ["2026-12-07", "2026-12-08"]
    assert [e["date"] for e in _audit("relay.missed")] == ["2026-12-09"]


def test_the_sweeper_and_a_carrier_cannot_both_move_a_claimed_run(stream_home: Path) -> None:
    """Compare-and-set: the sweeper read the run as claimed, a carrier took it meanwhile; the sweeper's write
    is refused and the carrier keeps the run."""
    import pytest

    from domain.errors import InvalidTransition
    from domain.relays import RelayRunStatus
    from services import relays
    from services.runtime import session
    from storage.repositories import relays as repo

    slot_id = _slot()
    _claim(slot_id)
    with session() as sweeper:
        stale = repo.get_run(sweeper, slot_id, "2026-12-07")
        assert stale is not None and stale.status == "claimed"
        with session() as carrier:
            assert relays.take(carrier, slot_id, "2026-12-07", now=STARTS) is True
        with pytest.raises(InvalidTransition):
            repo.move_run(sweeper, stale, RelayRunStatus.FAILED, "failed", "too late")
    assert _runs()["2026-12-07"] == ("running", ["started"])


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


def test_a_late_carrier_of_a_failed_run_feeds_nothing(stream_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The carrier's flow run started after the sweeper failed the run: it returns without feeding the mount."""
    from services import relay_air, relays
    from services.runtime import session

    slot_id = _slot()
    _claim(slot_id)
    with session() as s:
        relays.queued(s, slot_id, "2026-12-07", "run-1")
        relays.sweep_orphans(s, STARTS + timedelta(seconds=1), flow_run_gone=lambda _id: True)

    def no_feed(*_a: object, **_k: object) -> None:
        raise AssertionError("a failed run must not be fed")

    monkeypatch.setattr(relay_air, "Feed", no_feed)
    clock = (STARTS + timedelta(minutes=4)).timestamp()
    done = relay_air.carry(slot_id, "2026-12-07", clock=lambda: clock, sleep=no_feed)
    assert (done.status, done.events) == ("failed", ["not_carried"])
    assert _runs()["2026-12-07"] == ("failed", ["queued", "failed", "not_carried"])


def test_the_sweep_flow_asks_prefect_whether_a_claimed_runs_flow_run_is_gone(prefect_harness: None,
                                                                            stream_home: Path) -> None:
    """A claimed airing whose flow run is still waiting on the busy relay queue is left for its carrier; one
    whose flow run finished (or that Prefect does not know) without carrying it is failed."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    from flows.sweep import sweep
    from services import relays
    from services.runtime import session
    from tasks.relays import flow_run_gone

    @flow(name="relay-stand-in")
    def stand_in() -> str:
        from prefect.runtime import flow_run

        return str(flow_run.id)

    finished = stand_in()
    with get_client(sync_client=True) as client:
        waiting = str(client.create_flow_run(stand_in).id)  # scheduled: no worker took it yet
    assert (flow_run_gone(finished), flow_run_gone(waiting)) == (True, False)
    assert flow_run_gone("5b0c5bd2-52d6-4c4f-9a53-1d2b06c1c0de") is True  # unknown to the server

    slot_id = _slot()
    _claim(slot_id)
    with session() as s:
        relays.queued(s, slot_id, "2026-12-07", waiting)
    ten_minutes_in = STARTS + timedelta(minutes=10)  # the airing is on, its carrier not yet started
    assert sweep(now=ten_minutes_in)["streams"] == {"relay_runs": [], "live_sessions": []}
    assert _runs() == {"2026-12-07": ("claimed", ["queued"])}
    with session() as s:  # queued again (say, by hand), and that run ended without carrying it
        relays.queued(s, slot_id, "2026-12-07", finished)
    streams = sweep(now=ten_minutes_in + timedelta(seconds=10))["streams"]
    assert streams == {"relay_runs": [f"{slot_id}/2026-12-07"], "live_sessions": []}
    assert _runs() == {"2026-12-07": ("failed", ["queued", "queued", "failed"])}


def test_both_sweepers_use_the_carrier_timeout_setting_and_a_heartbeat_is_compare_and_set(
        accounts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``BANTIN_CARRIER_TIMEOUT_S=60`` a relay run and a live session silent 61 s are failed; a heartbeat
    touches only what is still carried and says so (one mechanism for relays and live sessions)."""
    from services import live, relays, runtime
    from services.runtime import session

    monkeypatch.setenv("BANTIN_CARRIER_HEARTBEAT_S", "15")
    monkeypatch.setenv("BANTIN_CARRIER_TIMEOUT_S", "60")
    runtime.reset()
    slot_id = _slot()
    _claim(slot_id)
    with session() as s:
        assert relays.take(s, slot_id, "2026-12-07", now=STARTS) is True
        assert relays.heartbeat(s, slot_id, "2026-12-07", now=STARTS + timedelta(seconds=30)) is True
        assert relays.heartbeat(s, slot_id, "2026-12-08", now=STARTS + timedelta(seconds=30)) is False  # no run
    with session() as s:
        assert relays.sweep_orphans(s, STARTS + timedelta(seconds=90)) == []  # 60 s since the beat
        assert relays.sweep_orphans(s, STARTS + timedelta(seconds=91)) == [(slot_id, "2026-12-07")]
    with session() as s:
        assert relays.heartbeat(s, slot_id, "2026-12-07", now=STARTS + timedelta(seconds=92)) is False

    t0 = datetime.now(UTC).replace(microsecond=0)
    with session() as s:
        quiet = live.start(s, area_codes=["29377"], actor="approver_daloc", now=t0)
        fed = live.start(s, area_codes=["29380"], actor="approver_mychanh", now=t0)
        assert live.heartbeat(s, [quiet.id, fed.id], now=t0 + timedelta(seconds=5)) == 2
    with session() as s:
        assert live.heartbeat(s, [fed.id], now=t0 + timedelta(seconds=50)) == 1
        assert live.sweep_orphans(s, t0 + timedelta(seconds=65)) == []  # 60 s since the quiet one's beat
        assert live.sweep_orphans(s, t0 + timedelta(seconds=66)) == [quiet.id]
    with session() as s:
        assert live.heartbeat(s, [quiet.id, fed.id], now=t0 + timedelta(seconds=70)) == 1  # the ended one stays
        assert live.get(s, quiet.id).updated_at.replace(tzinfo=UTC) < t0 + timedelta(seconds=70)
