"""The program flow end to end on the embedded Prefect API: real ffmpeg and espeak-ng, a real database and
object store; editions reach the device schedule, reruns are no-ops, a withdrawal takes effect at once."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.canonical import sha256_hex
from domain.packages import PackageStatus
from domain.priority import Priority
from domain.programs import day_window, local_date
from engines import audio
from engines import ffmpeg as ff
from services import programs, programs_on_air
from services.runtime import object_store, session
from storage.models_programs import ProgramEditionRecord
from storage.repositories import packages
from tests.programs.conftest import MakePackage


@pytest.fixture(scope="module")
def bulletin_mp3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 4 s loudness-normalised MP3 standing in for a produced bulletin (a tone: the flow treats it alike)."""
    work = tmp_path_factory.mktemp("bulletin")
    ff.tone_sequence(work / "tone.wav", [(440.0, 2.0), (554.37, 2.0)], level_db=-10)
    audio.normalize_to_mp3(work / "tone.wav", work / "bulletin.mp3", target=audio.LoudnessTarget())
    yield work / "bulletin.mp3"


def _editions() -> dict[str, ProgramEditionRecord]:
    with session() as s:
        rows = s.query(ProgramEditionRecord).all()
        s.expunge_all()
        return {r.area_code: r for r in rows}


def test_build_programs_publishes_editions_to_device_schedules(
        home, make_package: MakePackage, bulletin_mp3: Path, prefect_harness) -> None:  # type: ignore[no-untyped-def]
    from flows.program import build_programs

    province = make_package(title="Phòng chống bão", areas_=("84",), audio={"vi": bulletin_mp3},
                            priority=Priority.UU_TIEN)
    ward1 = make_package(title="Tiêm chủng", areas_=("29239",), audio={"vi": bulletin_mp3})
    with session() as s:
        programs.save_program(s, area_code="842", name="Bản tin sáng", at="06:00", languages="vi", gap_s=1.0,
                              actor="op")
    tomorrow = local_date(datetime.now(UTC)) + timedelta(days=1)
    assert build_programs(day=tomorrow.isoformat()) == {"built": 3, "failed": 0}

    eds = _editions()
    assert set(eds) == {"842", "29236", "29239"} and {e.status for e in eds.values()} == {"published"}
    # The district and Phường 4 have the same content: assembled once, the audio reused.
    assert eds["842"].audio_sha256 == eds["29236"].audio_sha256 != eds["29239"].audio_sha256
    assert sorted(e.detail["reused"] for e in (eds["842"], eds["29236"])) == [False, True]
    ward = eds["29239"]
    assert [i["package_id"] for i in ward.items] == [province, ward1]
    loud = ward.detail["loudness"]
    assert abs(loud["output_i"] - loud["target"]["i"]) <= 1.0 and loud["output_tp"] <= loud["target"]["tp"] + 0.5
    assert ward.detail["intro"]["spoken"] and ward.detail["intro"]["synthetic"]
    # Intro + 2 bulletins + outro + 3 gaps of 1 s.
    assert ward.duration_s > ward.detail["intro"]["duration_s"] + 2 * 4.0 + ward.detail["outro"]["duration_s"] + 2.5
    store = object_store()
    assert sha256_hex(store.get_bytes(ward.audio_key)) == ward.audio_sha256
    assert sha256_hex(store.get_bytes(ward.manifest_key)) == ward.manifest_hash

    start, end = day_window(tomorrow)
    with session() as s:
        items = programs_on_air.program_items(s, "29239", ("vi", "km"), start, end)
        assert programs_on_air.program_audio_key(s, ward.audio_sha256) == ward.audio_key
    assert len(items) == 1
    item = items[0]
    assert item.kind == "program" and item.manifest_hash == ward.manifest_hash and item.priority == "thuong"
    assert item.starts_at == ward.starts_at and item.starts_at.astimezone(programs.VN_TZ).hour == 6
    assert item.audio is not None and item.audio.sha256 == ward.audio_sha256 and item.audio.size == ward.audio_size
    assert item.audio.name == f"{ward.audio_sha256}.mp3"
    with session() as s:  # the device service passes its own URL rule
        (linked,) = programs_on_air.program_items(s, "29239", ("vi",), start, end,
                                           file_url=lambda key, sha: f"http://node/device/v1/files/{sha}")
    assert linked.audio is not None and linked.audio.url == f"http://node/device/v1/files/{ward.audio_sha256}"

    # Nothing changed: a rerun builds nothing.
    assert build_programs(day=tomorrow.isoformat()) == {"built": 0, "failed": 0}

    # A withdrawal takes the edition off the devices at once, and the next run rebuilds it without the item.
    with session() as s:
        packages.set_status(s, packages.get_package(s, ward1), PackageStatus.WITHDRAWN, actor="approver")
        assert programs_on_air.program_items(s, "29239", ("vi",), start, end) == []
    assert build_programs(day=tomorrow.isoformat()) == {"built": 1, "failed": 0}
    rebuilt = _editions()["29239"]
    assert [i["package_id"] for i in rebuilt.items] == [province]
    assert rebuilt.audio_sha256 == eds["842"].audio_sha256  # now the same content as the district's
    with session() as s:
        assert [i.manifest_hash for i in programs_on_air.program_items(s, "29239", ("vi",), start, end)] == \
            [rebuilt.manifest_hash]


def test_a_scheduled_build_skips_its_turn_while_another_holds_the_program_slot(
        home, make_package: MakePackage, bulletin_mp3: Path, prefect_harness) -> None:  # type: ignore[no-untyped-def]
    """No deployment limit (a killed build would hold it for five minutes): a scheduled build holds the
    1-minute ``bantin-program`` slot, and one that comes while it is taken does nothing; an operator's build
    (``bantin programs build``) runs regardless."""
    from prefect.client.orchestration import get_client

    from deployments.setup import ensure_global_limit
    from flows.program import build_programs
    from tasks.limits import PROGRAM_LIMIT, only_one

    make_package(title="Tiêm chủng", areas_=("29239",), audio={"vi": bulletin_mp3})
    with session() as s:
        programs.save_program(s, area_code="29239", name="Bản tin sáng", at="06:00", languages="vi", actor="op")
    day = (local_date(datetime.now(UTC)) + timedelta(days=1)).isoformat()
    assert ensure_global_limit(PROGRAM_LIMIT, 1) == "created"
    try:
        with only_one(PROGRAM_LIMIT) as held:  # the previous scheduled build still works
            assert held
            assert build_programs(day=day, skip_if_busy=True) == {"built": 0, "failed": 0}
            assert _editions() == {}
            assert build_programs(day=day, area_code="29239") == {"built": 1, "failed": 0}
        with session() as s:
            programs.save_program(s, area_code="29239", name="Bản tin chiều", at="17:00", languages="vi",
                                  actor="op")
        assert build_programs(day=day, skip_if_busy=True) == {"built": 1, "failed": 0}  # the slot is free again
    finally:
        with get_client(sync_client=True) as client:
            client.delete_global_concurrency_limit_by_name(PROGRAM_LIMIT)
