"""Publishing to 50 receivers with injected 500s, 429s, 400s, timeouts and slow answers: every delivery ends
delivered or dead, and no receiver keeps a package twice; a publish that crashed midway resumes without
sending anything delivered again; a withdrawal reaches the receivers that have the package."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.deliveries import DeliveryStatus, DestinationKind
from domain.packages import PackageStatus
from domain.signatures import unb64
from services import runtime, signing
from services.runtime import session
from storage.repositories import destinations, outbox, packages
from tests.devices.factory import published_package
from tests.flows.receivers import fleet
from web.reference_receiver import ReferenceReceiver

pytestmark = [pytest.mark.flow, pytest.mark.integration]

OK, SLOW, TIMEOUT = ("status", 201), ("slow", 0.2), ("timeout", 1.6)
SCRIPTS = (
    [[OK]] * 10                                  # 0-9: accept at once
    + [[("status", 500), OK]] * 10               # 10-19: one 500, then accept
    + [[("status", 503)]] * 5                    # 20-24: always down -> dead after the attempt budget
    + [[TIMEOUT, OK]] * 5                        # 25-29: kept but answered too late, then re-sent with the same key
    + [[SLOW]] * 5                               # 30-34: slow but in time
    + [[("status", 400)]] * 5                    # 35-39: a permanent refusal -> dead at once
    + [[("status", 429), ("status", 502), OK]] * 5  # 40-44: throttled, bad gateway, then accept
    + [[TIMEOUT]] * 5                            # 45-49: always too late -> dead, yet kept only once
)
EXPECTED_DEAD = set(range(20, 25)) | set(range(35, 40)) | set(range(45, 50))


@pytest.fixture
def fast_retries(home: Path, prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANTIN_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("BANTIN_DELIVERY_BACKOFF_SECONDS", "0.02")
    monkeypatch.setenv("BANTIN_HTTP_TIMEOUT", "1.0")
    monkeypatch.setenv("BANTIN_DELIVERY_CONCURRENCY", "25")
    runtime.reset()


def test_fan_out_to_50_flaky_receivers_ends_delivered_or_dead_without_duplicates(fast_retries: None) -> None:
    from flows.publish import publish_package

    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi")
    with fleet(SCRIPTS) as f:
        with session() as s:
            for n in range(len(SCRIPTS)):
                destinations.add_destination(s, name=f"htttn-{n:02d}", kind=DestinationKind.HTTTN, url=f.url(n))
        assert publish_package(package_id) == "published"
        with session() as s:
            rows = {t.name: d for d, t in outbox.of_package(s, package_id)}
        assert len(rows) == 50
        dead = {n for n in range(50) if rows[f"htttn-{n:02d}"].status == DeliveryStatus.DEAD}
        assert dead == EXPECTED_DEAD
        assert all(d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD) for d in rows.values())
        for n in range(50):
            d = rows[f"htttn-{n:02d}"]
            assert len(set(f.keys[n])) == 1 and f.keys[n][0] == d.idempotency_key  # one key across retries
            assert len(f.kept[n]) <= 1  # never kept twice
            if d.status == DeliveryStatus.DELIVERED:
                assert d.receipt_id == f.kept[n][d.idempotency_key]
        # Attempts as the queue counted them (a request lost on a busy machine still counts as an attempt).
        assert all(rows[f"htttn-{n:02d}"].attempts == 3 for n in (*range(20, 25), *range(45, 50)))
        assert all(rows[f"htttn-{n:02d}"].attempts >= 2 for n in (*range(10, 20), *range(25, 30)))
        assert all(rows[f"htttn-{n:02d}"].attempts >= 3 for n in range(40, 45))
        assert all(1 <= len(f.keys[n]) <= rows[f"htttn-{n:02d}"].attempts for n in range(50))
        assert "HTTP 400" in rows["htttn-35"].last_error and "Timeout" in rows["htttn-45"].last_error
        posted = [len(k) for k in f.keys]
        assert publish_package(package_id) == "published"  # a rerun sends nothing more
        assert [len(k) for k in f.keys] == posted
        # The dead-letter list and a resend of one dead delivery (its receiver is still down: dead again).
        with session() as s:
            dead_rows = outbox.listing(s, status=DeliveryStatus.DEAD, package_id=package_id)
            assert {t.name for _, t in dead_rows} == {f"htttn-{n:02d}" for n in EXPECTED_DEAD}
            outbox.reopen(s, outbox.get(s, rows["htttn-35"].id), actor="admin")
        posted_35 = list(f.keys[35])
        assert publish_package(package_id) == "published"
        again = rows_after(package_id)["htttn-35"]
        assert again.status == DeliveryStatus.DEAD and again.attempts >= 1 and len(f.keys[35]) > len(posted_35)
        assert [len(k) for n, k in enumerate(f.keys) if n != 35] == [p for n, p in enumerate(posted) if n != 35]


def rows_after(package_id: int) -> dict:
    with session() as s:
        return {t.name: d for d, t in outbox.of_package(s, package_id)}


def test_a_publish_that_crashed_midway_resumes_without_sending_twice(fast_retries: None, web_address: str,
                                                                     tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.publish import publish_package
    from tasks import outbox as sender

    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi")
    trusted = {k["key_id"]: unb64(k["public_key"]) for k in signing.keys_document()["keys"]}
    receivers = [ReferenceReceiver(tmp_path / f"rx{n}", trusted=trusted) for n in range(3)]
    for r in receivers:
        r.__enter__()
    try:
        with session() as s:
            ids = []
            for n, r in enumerate(receivers):
                dest = destinations.add_destination(s, name=f"rx{n}", kind=DestinationKind.HTTTN, url=r.url)
                ids.append(outbox.ensure(s, package_id=package_id, manifest_hash=manifest,
                                                      destination_id=dest.id).id)
        sender.attempt(ids[0])  # delivered before the crash
        real = outbox.set_status

        def power_cut(s, rec, target, **kw):  # type: ignore[no-untyped-def]
            if target is DeliveryStatus.DELIVERED:
                raise SystemExit("power cut after the receiver accepted, before we recorded it")
            return real(s, rec, target, **kw)

        with monkeypatch.context() as patch, pytest.raises(SystemExit):
            patch.setattr(outbox, "set_status", power_cut)
            sender.attempt(ids[1])
        with session() as s:
            assert outbox.get(s, ids[1]).status == DeliveryStatus.SENDING
        # A publish right away leaves the send to its (presumed live) owner; the sweeper frees it once stale.
        assert publish_package(package_id) == "published"
        assert [r.state.requests for r in receivers] == [1, 1, 1]
        from flows.sweep import sweep

        assert sweep(now=datetime.now(UTC) + timedelta(seconds=121))["published_again"] == [package_id]
        assert [r.state.requests for r in receivers] == [1, 2, 1]
        assert [len(r.state.by_key) for r in receivers] == [1, 1, 1]  # the re-send was recognised
        with session() as s:
            assert {d.status for d, _ in outbox.of_package(s, package_id)} == {"delivered"}

        # A kill reaches every receiver that has the package, signed, once.
        from flows.publish import publish_due, retract_package

        with session() as s:
            packages.set_status(s, packages.get_package(s, package_id), PackageStatus.KILLED, actor="test",
                                reason="sai sự thật")
        assert retract_package(package_id) == {"delivered": 3}
        assert all(r.state.retracted == {manifest: "kill"} for r in receivers)
        assert publish_due() == [] and [r.state.requests for r in receivers] == [2, 3, 2]  # nothing owed now
    finally:
        for r in receivers:
            r.__exit__(None, None, None)
