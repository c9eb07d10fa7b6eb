"""The main path through real Prefect flows (test harness), SQLite, the local store, ffmpeg and espeak-ng."""

import io
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import scipy.io.wavfile
import zxingcpp
from PIL import Image

from cli.main import seed_demo_users
from domain.deliveries import DestinationKind
from domain.errors import ApprovalRefused, InvalidInput, ManifestMismatch
from domain.packages import verify_manifest
from services import approvals, runtime
from services import drafts as draft_service
from services.runtime import object_store, session
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import areas, destinations, drafts, packages
from tests.flows.receivers import scripted
from web.reference_receiver import ReferenceReceiver

pytestmark = [pytest.mark.flow, pytest.mark.integration]

BODY = (Path(__file__).parents[2] / "cli" / "samples" / "thong-bao-tiem-chung.txt").read_text(encoding="utf-8")


@pytest.fixture
def app(bantin_env: Path, prefect_harness: None) -> Iterator[Path]:
    settings = get_settings()
    upgrade(settings.database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        seed_demo_users(s)
    yield bantin_env


def submit(languages: str = "vi,km") -> int:
    req = draft_service.DraftRequest(body=BODY, area_codes=["29377"], languages=languages, priority="uu_tien",
                                     author="demo-editor", requesting_unit="UBND xã Đa Lộc")
    with session() as s:
        return draft_service.submit_text_draft(s, object_store(), req).draft_id


def produce(draft_id: int) -> int:
    from flows.produce import produce_package

    return produce_package(draft_id)


def publish(package_id: int) -> str:
    from flows.publish import publish_package

    return publish_package(package_id)


def view(package_id: int) -> dict:
    from services.packages import package_view

    with session() as s:
        return package_view(s, object_store(), package_id)


def loudness_of(mp3: bytes, tmp: Path) -> float:
    """Independent check: decode with ffmpeg, measure with pyloudnorm (BS.1770-4)."""
    (tmp / "a.mp3").write_bytes(mp3)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp / "a.mp3"), str(tmp / "a.wav")], check=True)
    rate, data = scipy.io.wavfile.read(tmp / "a.wav")
    samples = data.astype(np.float64) / 32768.0
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def test_produce_approve_publish(app: Path, web_address: str, tmp_path: Path) -> None:
    draft_id = submit()
    package_id = produce(draft_id)
    v = view(package_id)
    assert v["status"] == "in_review"
    variants = {x["language"]: x for x in v["variants"]}
    assert variants["km"]["status"] == "blocked" and "translat" in variants["km"]["blocked_reason"]
    assert variants["km"]["assets"] == []  # never a copy of the Vietnamese text
    kinds = sorted(a["kind"] for a in variants["vi"]["assets"])
    assert kinds[:3] == ["audio", "board_text", "script"] and "slide" in kinds

    store = object_store()
    audio = next(a for a in variants["vi"]["assets"] if a["kind"] == "audio")
    assert abs(audio["meta"]["output_i"] - (-16.0)) <= 0.5
    assert audio["meta"]["synthetic"] is True
    assert abs(loudness_of(store.get_bytes(audio["key"]), tmp_path) - (-16.0)) <= 0.7
    # Every slide carries the QR code of the area's feedback page citing this bulletin.
    for slide in (a for a in variants["vi"]["assets"] if a["kind"] == "slide"):
        png = Image.open(io.BytesIO(store.get_bytes(slide["key"])))
        assert [r.text for r in zxingcpp.read_barcodes(png)] == [f"{web_address}/phan-anh/29377?ban-tin={package_id}"]
    script = store.get_bytes(next(a["key"] for a in variants["vi"]["assets"] if a["kind"] == "script")).decode()
    assert script.startswith("Kính thưa") and "Trân trọng thông báo" in script
    assert "Đa Lộc" in script
    with session() as s:
        pkg = packages.get_package(s, package_id)
        manifest = verify_manifest(store.get_bytes(pkg.manifest_key or ""), pkg.manifest_hash or "")
    assert manifest["draft"]["id"] == draft_id

    with ReferenceReceiver(tmp_path / "rx") as rx:  # fetches the assets from the web app, over HTTP
        with session() as s:
            destinations.add_destination(s, name="htttn", kind=DestinationKind.HTTTN, url=rx.url)
        with pytest.raises(ApprovalRefused, match="only approved"):
            publish(package_id)
        with session() as s:
            approvals.approve_package(s, package_id=package_id, username="demo-approver",
                                      reviewed_hash=(pkg.manifest_hash or "")[:16])
        assert publish(package_id) == "published"
        assert publish(package_id) == "published"  # rerun: nothing is sent again
        received = list(rx.state.by_key.values())
        assert rx.state.requests == 1
    asset_count = sum(len(x["assets"]) for x in manifest["variants"])
    assert len(received) == 1 and received[0].verified_assets == asset_count
    assert received[0].manifest_hash == pkg.manifest_hash
    d = view(package_id)["deliveries"][0]
    assert (d["status"], d["attempts"], d["receipt_id"]) == ("delivered", 1, received[0].receipt_id)
    runs = view(package_id)["flow_runs"]  # the package links the Prefect runs that made and sent it
    assert [r["flow"] for r in runs] == ["produce", "publish", "publish"]
    assert all(len(r["id"]) == 36 for r in runs)


def test_rerunning_every_step_reproduces_the_same_package(app: Path) -> None:
    draft_id = submit("vi")
    first = produce(draft_id)
    before = view(first)
    assert produce(draft_id) == first  # already in review: nothing to do
    with session() as s:  # force every step to run again, as after a crash just before the end
        pkg = packages.get_package(s, first)
        pkg.status = "failed"
    assert produce(draft_id) == first
    after = view(first)
    assert after["status"] == "in_review"
    assert after["manifest_hash"] == before["manifest_hash"]
    assert after["variants"] == before["variants"]


def test_failed_step_keeps_work_and_rerun_resumes(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engines import tts
    from engines.errors import EngineError

    def crash(self, text, language, out_wav):  # type: ignore[no-untyped-def]
        raise EngineError("espeak-ng failed (exit -11): segmentation fault")

    draft_id = submit("vi")
    with monkeypatch.context() as patch, pytest.raises(EngineError, match="segmentation fault"):
        patch.setattr(tts.EspeakTTS, "synthesize", crash)  # fault injected at the engine boundary
        produce(draft_id)
    with session() as s:
        pkg = packages.packages_of_draft(s, draft_id)[-1]
        assert pkg.status == "failed" and "segmentation fault" in pkg.error
        script_before = packages.get_asset(s, package_id=pkg.id, language="vi", kind=packages.AssetKind.SCRIPT)
        assert script_before is not None
    assert produce(draft_id) == pkg.id
    resumed = view(pkg.id)
    assert resumed["status"] == "in_review" and resumed["error"] == ""
    # The resumed package holds exactly what an uninterrupted run of the same text produces; only the slides
    # differ, as their QR code cites each package's own feedback page.
    clean = view(produce(submit("vi")))

    def keys(v: dict) -> list[tuple[str, str]]:
        return [(a["kind"], a["key"]) for a in v["variants"][0]["assets"] if a["kind"] != "slide"]

    assert keys(resumed) == keys(clean)
    assert sorted(k for k, _ in keys(clean)) == ["audio", "board_text", "script", "speech_text"]
    slides = [[a for a in v["variants"][0]["assets"] if a["kind"] == "slide"] for v in (resumed, clean)]
    assert len(slides[0]) == len(slides[1]) >= 1
    assert slides[0][0]["meta"]["feedback_url"] != slides[1][0]["meta"]["feedback_url"]
    with session() as s:
        assert packages.get_asset(s, package_id=pkg.id, language="vi",
                                  kind=packages.AssetKind.SCRIPT).key == script_before.key


def test_resume_after_a_script_change_speaks_the_new_script(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engines import audio
    from engines.errors import MediaError

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise MediaError("ffmpeg crashed")

    draft_id = submit("vi")
    with monkeypatch.context() as patch, pytest.raises(MediaError):
        patch.setattr(audio, "normalize_to_mp3", fail)
        produce(draft_id)
    monkeypatch.setenv("BANTIN_SCRIPT_SECONDS", "25")  # the operator shortens scripts, then reruns
    runtime.reset()
    package_id = produce(draft_id)
    with session() as s:
        script = packages.get_asset(s, package_id=package_id, language="vi", kind=packages.AssetKind.SCRIPT)
        raw = packages.get_asset(s, package_id=package_id, language="vi", kind=packages.AssetKind.RAW_SPEECH)
        final = packages.get_asset(s, package_id=package_id, language="vi", kind=packages.AssetKind.AUDIO)
        assert script is not None and raw is not None and final is not None
        assert raw.meta["script_sha256"] == script.sha256
        assert final.meta["source_sha256"] == raw.sha256
        assert final.meta["duration_s"] < 40


def test_rejected_revision_is_not_produced_again(app: Path) -> None:
    draft_id = submit("vi")
    package_id = produce(draft_id)
    with session() as s:
        approvals.reject_package(s, package_id=package_id, username="demo-approver", reason="Sai giờ tiêm")
    with pytest.raises(InvalidInput, match="was rejected"):
        produce(draft_id)


def test_approving_a_changed_package_is_refused(app: Path) -> None:
    draft_id = submit("vi")
    old = produce(draft_id)
    old_hash = view(old)["manifest_hash"]
    with session() as s:
        rev = drafts.latest_revision(s, draft_id)
        drafts.add_revision(s, draft_id=draft_id, content=replace(rev.content, title="Thông báo (đính chính giờ tiêm)"),
                            author="demo-editor")
    new = produce(draft_id)
    assert new != old and view(old)["status"] == "superseded"
    with session() as s, pytest.raises(ApprovalRefused, match="superseded"):
        approvals.approve_package(s, package_id=old, username="demo-approver")
    with session() as s, pytest.raises(ManifestMismatch, match="changed since review"):
        approvals.approve_package(s, package_id=new, username="demo-approver", reviewed_hash=old_hash)
    with session() as s:
        assert packages.approvals_of(s, new) == []


def test_author_cannot_approve_own_package(app: Path) -> None:
    from domain.approvals import Role
    from storage.repositories import users

    with session() as s:
        users.add_user(s, username="chi", full_name="Chị Chi", roles=[Role.EDITOR, Role.APPROVER])
    req = draft_service.DraftRequest(body=BODY, area_codes=["29377"], languages="vi", priority="thuong", author="chi")
    with session() as s:
        draft_id = draft_service.submit_text_draft(s, object_store(), req).draft_id
    package_id = produce(draft_id)
    with session() as s, pytest.raises(ApprovalRefused, match="four-eyes"):
        approvals.approve_package(s, package_id=package_id, username="chi")
    with session() as s:
        approvals.approve_package(s, package_id=package_id, username="demo-approver")
        assert packages.get_package(s, package_id).status == "approved"


def test_delivery_retries_transient_errors_and_gives_up_on_permanent(app: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("BANTIN_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("BANTIN_DELIVERY_BACKOFF_SECONDS", "0.05")
    runtime.reset()
    package_id = produce(submit("vi"))
    with session() as s:
        approvals.approve_package(s, package_id=package_id, username="demo-approver")
    with scripted([503, 500, 201]) as flaky, scripted([400]) as broken:
        with session() as s:
            destinations.add_destination(s, name="flaky", kind=DestinationKind.HTTP, url=flaky.url)
            destinations.add_destination(s, name="broken", kind=DestinationKind.HTTP, url=broken.url)
        assert publish(package_id) == "published"
        by_name = {d["destination"]: d for d in view(package_id)["deliveries"]}
        assert (by_name["flaky"]["status"], by_name["flaky"]["attempts"]) == ("delivered", 3)
        assert len(set(flaky.keys)) == 1  # every attempt carried the same idempotency key
        assert (by_name["broken"]["status"], by_name["broken"]["attempts"]) == ("dead", 1)
        assert "HTTP 400" in by_name["broken"]["last_error"]
        assert publish(package_id) == "published"  # rerun: the delivered one is not sent again
        assert len(flaky.keys) == 3 and len(broken.keys) == 1


def test_publish_with_every_destination_down_keeps_package_approved(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.deliveries import PublicationFailed

    monkeypatch.setenv("BANTIN_DELIVERY_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("BANTIN_DELIVERY_BACKOFF_SECONDS", "0.05")
    runtime.reset()
    package_id = produce(submit("vi"))
    with session() as s:
        approvals.approve_package(s, package_id=package_id, username="demo-approver")
    with scripted([500, 500, 201]) as down:
        with session() as s:
            destinations.add_destination(s, name="down", kind=DestinationKind.HTTP, url=down.url)
        with pytest.raises(PublicationFailed, match="no destination accepted"):
            publish(package_id)
        assert len(down.keys) == 2
        assert view(package_id)["status"] == "approved"
        assert view(package_id)["deliveries"][0]["status"] == "dead"
        with pytest.raises(PublicationFailed):
            publish(package_id)  # a plain rerun does not hammer a destination that was given up
        assert len(down.keys) == 2
        from services import progress

        with session() as s:  # the failed run is said on the package, with its reason
            card = progress.package_progress(s, package_id)
            assert card["phase"] == "failed" and "no destination accepted" in card["failure"]
            assert [(c["name"], c["status"], c["retryable"]) for c in card["channels"]] == [("down", "dead", True)]
            assert progress.retry_publication(s, package_id, actor="demo-approver") == 1  # what the button does
        assert publish(package_id) == "published"  # it is back now
        assert len(down.keys) == 3 and len(set(down.keys)) == 1
    assert view(package_id)["deliveries"][0]["status"] == "delivered"
    with session() as s:
        card = progress.package_progress(s, package_id)
        assert (card["phase"], card["failure"], card["live"]) == ("published", None, False)


def test_a_publication_with_nowhere_to_go_is_recorded_as_failed(app: Path) -> None:
    from services import progress

    package_id = produce(submit("vi"))
    with session() as s:
        approvals.approve_package(s, package_id=package_id, username="demo-approver")
    with pytest.raises(InvalidInput, match="no destination is configured"):
        publish(package_id)
    with session() as s:
        card = progress.package_progress(s, package_id)
        assert card["status"] == "approved" and card["phase"] == "failed"
        assert "no destination is configured" in card["failure"]


def test_a_summary_with_an_invented_fact_is_blocked(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A summariser that changes a date (as a generative model might) blocks the variant with a reason."""
    from engines import summarize

    real = summarize.summarize

    def unfaithful(text, **kwargs):  # type: ignore[no-untyped-def]
        good = real(text, **kwargs)
        return replace(good, script=good.script.replace("5, 6 và 7 tháng 12", "8, 9 và 10 tháng 12"))

    draft_id = submit("vi")
    with monkeypatch.context() as patch:
        patch.setattr(summarize, "summarize", unfaithful)
        package_id = produce(draft_id)
    vi = view(package_id)["variants"][0]
    assert vi["status"] == "blocked" and "8" in vi["blocked_reason"] and vi["assets"] == []
    with session() as s, pytest.raises(ApprovalRefused, match="no language variant"):
        approvals.approve_package(s, package_id=package_id, username="demo-approver")


def test_embargoed_package_is_scheduled_then_published_when_due(app: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from flows.publish import publish_due
    from storage.models import DraftRevisionRecord

    req = draft_service.DraftRequest(body=BODY, area_codes=["29377"], languages="vi", priority="thuong",
                                     author="demo-editor", embargo_at=datetime.now(UTC) + timedelta(hours=1))
    with session() as s:
        draft_id = draft_service.submit_text_draft(s, object_store(), req).draft_id
    package_id = produce(draft_id)
    with session() as s:
        approvals.approve_package(s, package_id=package_id, username="demo-approver")
    with scripted([201]) as endpoint:
        with session() as s:
            destinations.add_destination(s, name="htttn", kind=DestinationKind.HTTTN, url=endpoint.url)
        assert publish(package_id) == "scheduled"
        assert publish_due() == []  # not yet
        assert view(package_id)["status"] == "scheduled" and endpoint.keys == []
        with session() as s:  # the clock reaches the embargo
            rev = s.get(DraftRevisionRecord, packages.get_package(s, package_id).revision_id)
            rev.embargo_at = datetime.now(UTC) - timedelta(seconds=1)
        assert publish_due() == [package_id]
        assert view(package_id)["status"] == "published" and len(endpoint.keys) == 1


def test_publishing_a_new_revision_corrects_the_published_one(app: Path) -> None:
    from dataclasses import replace as replace_content

    draft_id = submit("vi")
    first = produce(draft_id)
    with session() as s:
        approvals.approve_package(s, package_id=first, username="demo-approver")
    with scripted([201]) as endpoint:
        with session() as s:
            destinations.add_destination(s, name="htttn", kind=DestinationKind.HTTTN, url=endpoint.url)
        assert publish(first) == "published"
        with session() as s:
            rev = drafts.latest_revision(s, draft_id)
            drafts.add_revision(s, draft_id=draft_id, author="demo-editor", content=replace_content(
                rev.content, title="Đính chính: lịch tiêm vắc xin sởi đổi sang ngày 6 tháng 12"))
        second = produce(draft_id)
        assert view(first)["status"] == "published"  # still on air until the correction goes out
        with session() as s:
            approvals.approve_package(s, package_id=second, username="demo-approver")
        assert publish(second) == "published"
        assert view(first)["status"] == "corrected"
        assert endpoint.bodies[-1]["corrects"] == [view(first)["manifest_hash"]]
        assert endpoint.bodies[0]["corrects"] == []
