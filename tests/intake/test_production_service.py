"""The production decisions called directly, without Prefect: a migrated SQLite home and the local store, with
fakes only at the engine boundary (summary, translator, voice)."""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from domain.drafts import Channel
from domain.errors import InvalidInput
from domain.keys import manifest_key
from domain.packages import AssetKind, PackageStatus
from engines import summarize, translate, voices
from engines.errors import VoiceUnavailable
from services import drafts as draft_service
from services import framing, production, production_media
from services.runtime import object_store, session
from storage.repositories import audit, drafts, packages

BODY = (Path(__file__).parents[2] / "cli" / "samples" / "thong-bao-tiem-chung.txt").read_text(encoding="utf-8")


def submit(languages: str = "vi", channels: tuple[Channel, ...] = (Channel.LOUDSPEAKER, Channel.BOARD)) -> int:
    req = draft_service.DraftRequest(body=BODY, area_codes=["29377"], languages=languages, priority="uu_tien",
                                     author="demo-editor", requesting_unit="UBND xã Châu Thành", channels=channels)
    with session() as s:
        return draft_service.submit_text_draft(s, object_store(), req).draft_id


def actions(package_id: int) -> list[tuple[str, dict[str, Any]]]:
    with session() as s:
        return [(e.action, dict(e.detail)) for e in audit.entries(s, entity="package", entity_id=package_id)]


def status(package_id: int) -> tuple[str, str]:
    with session() as s:
        pkg = packages.get_package(s, package_id)
        return pkg.status, pkg.error


def variant(package_id: int, language: str) -> tuple[str, str]:
    with session() as s:
        rec = packages.variant_record(s, package_id, language)
        assert rec is not None
        return rec.status, rec.blocked_reason


def test_start_creates_resumes_and_supersedes(app: Path) -> None:
    draft_id = submit()
    first = production.start(draft_id, flow_run_id="run-1")
    assert first == production.ProductionStart(first.package_id, "producing", ("vi",))
    assert ("flow.produce", {"flow_run_id": "run-1"}) in actions(first.package_id)
    assert production.start(draft_id).package_id == first.package_id  # the live package is resumed, not copied

    production.mark_failed(first.package_id, "EngineError: espeak-ng crashed")
    assert status(first.package_id) == ("failed", "EngineError: espeak-ng crashed")
    resumed = production.start(draft_id, flow_run_id="run-2")
    assert (resumed.package_id, resumed.status) == (first.package_id, "producing")

    production.mark_failed(first.package_id, "EngineError: espeak-ng crashed")
    with session() as s:  # the editor corrects the draft: the older package no longer describes what would air
        rev = drafts.latest_revision(s, draft_id)
        drafts.add_revision(s, draft_id=draft_id, content=replace(rev.content, title="Lịch tiêm (đính chính)"),
                            author="demo-editor")
    second = production.start(draft_id)
    assert second.package_id != first.package_id and second.status == "producing"
    assert status(first.package_id)[0] == "superseded"


def test_a_rejected_revision_is_not_produced_again(app: Path) -> None:
    draft_id = submit()
    package_id = production.start(draft_id).package_id
    production.write_texts(package_id, "vi")
    production.finalize(package_id)
    with session() as s:
        packages.set_status(s, packages.get_package(s, package_id), PackageStatus.REJECTED, actor="demo-approver")
    with pytest.raises(InvalidInput, match="revision 1 of draft .* was rejected"):
        production.start(draft_id)
    with session() as s:
        assert [p.id for p in packages.packages_of_draft(s, draft_id)] == [package_id]


def test_source_texts_are_framed_recorded_and_audited(app: Path) -> None:
    package_id = production.start(submit()).package_id
    assert production.write_texts(package_id, "vi") is True
    assert variant(package_id, "vi") == ("ready", "")
    with session() as s:
        script = packages.get_asset(s, package_id=package_id, language="vi", kind=AssetKind.SCRIPT)
        spoken = packages.get_asset(s, package_id=package_id, language="vi", kind=AssetKind.SPEECH_TEXT)
        assert script is not None and spoken is not None
    lines = object_store().get_bytes(script.key).decode("utf-8").strip().split("\n")
    assert lines[0] == "Kính thưa bà con nhân dân!" and lines[-1] == "Trân trọng thông báo!"
    assert spoken.meta["script_sha256"] == script.sha256 and spoken.meta["target_seconds"] == 60
    produced = [d for a, d in actions(package_id) if a == "asset.produced"]
    assert [d["kinds"] for d in produced] == [["script", "speech_text", "board_text"]]
    assert produced[0]["prompt"] == "loudspeaker_script/v1"


def test_an_invented_date_blocks_the_variant(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invented = "Tiêm vắc xin sởi cho trẻ em ngày 9 tháng 1 năm 2027."  # the draft says 5, 6 and 7 December 2026

    def fake(*args: Any, **kwargs: Any) -> summarize.Summary:
        return summarize.Summary(script=invented, board_text=invented, sentence_indexes=(0,), estimated_seconds=5.0,
                                 method="whole")

    monkeypatch.setattr(framing, "framed_summary", fake)
    package_id = production.start(submit()).package_id
    assert production.write_texts(package_id, "vi") is False
    state, reason = variant(package_id, "vi")
    assert state == "blocked" and reason.startswith("script: ")
    violations = [d for a, d in actions(package_id) if a == "faithfulness.violation"]
    assert [d["output"] for d in violations] == ["script"]
    assert any("2027" in m for m in violations[0]["missing"])
    with session() as s:
        assert packages.get_asset(s, package_id=package_id, language="vi", kind=AssetKind.SCRIPT) is None


def test_a_language_without_translator_waits_for_a_person(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(translate, "translator_for", lambda language, source: None)
    package_id = production.start(submit("vi,km")).package_id
    assert production.write_texts(package_id, "km") is False
    assert variant(package_id, "km") == ("blocked", "awaiting a translation into Khmer (km): no machine translation "
                                                    "is configured for it, so a translator must provide the text")
    with session() as s:  # no Vietnamese text copied into the Khmer slot
        assert packages.get_asset(s, package_id=package_id, language="km", kind=AssetKind.SCRIPT) is None


class NoVoice:
    name = "none"

    def synthesize(self, text: str, language: str, out: Path) -> None:
        raise VoiceUnavailable(f"no voice for {language}")


def test_without_a_voice_the_loudspeakers_wait_for_a_recording(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voices, "engine_for", lambda language: NoVoice())
    package_id = production.start(submit()).package_id
    assert production_media.synthesize_speech(package_id, "vi") is False  # no text yet: nothing to speak
    production.write_texts(package_id, "vi")
    assert production_media.synthesize_speech(package_id, "vi") is False
    assert variant(package_id, "vi") == ("ready", "no voice for vi: loudspeakers need a person's recording")
    assert production_media.normalize_audio(package_id, "vi") is False  # no speech: no broadcast audio
    assert [a for a, _ in actions(package_id)].count("asset.produced") == 1  # the texts only


def test_a_board_only_draft_is_not_spoken(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unused(language: str) -> None:
        raise AssertionError("no voice is needed")

    monkeypatch.setattr(voices, "engine_for", unused)
    package_id = production.start(submit(channels=(Channel.BOARD,))).package_id
    production.write_texts(package_id, "vi")
    assert production_media.synthesize_speech(package_id, "vi") is False


def test_finalize_stores_the_manifest_and_puts_the_package_up_for_review(app: Path) -> None:
    draft_id = submit()
    package_id = production.start(draft_id).package_id
    production.write_texts(package_id, "vi")
    digest = production.finalize(package_id)
    assert len(digest) == 64 and status(package_id) == ("in_review", "")
    manifest = json.loads(object_store().get_bytes(manifest_key(digest)))
    assert (manifest["draft"]["id"], manifest["draft"]["revision"]) == (draft_id, 1)
    assert [v["language"] for v in manifest["variants"]] == ["vi"]
    production.mark_failed(package_id, "too late")  # only a package still producing can fail
    assert status(package_id) == ("in_review", "")


def test_describe_error() -> None:
    assert production.describe_error(InvalidInput("bản nháp không có vùng")) == "bản nháp không có vùng"
    assert production.describe_error(ValueError("bad")) == "ValueError: bad"
