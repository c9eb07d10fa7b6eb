"""Legacy recordings -> real Whisper transcripts with timestamps -> searchable entries, through the Prefect flow.

Two natural Vietnamese clips (vieneu) and one corrupt file; the second run skips what is done.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain.errors import InvalidInput
from services import archive as archive_service
from services.archive import ingest
from services.runtime import object_store, session
from settings import get_settings
from storage.migrate import upgrade
from storage.repositories import archive, areas
from tests.asr.conftest import _isolated_models, ffmpeg_ok, model_cache, vieneu_clips, whisper  # noqa: F401

pytestmark = [pytest.mark.flow, pytest.mark.integration]


@pytest.fixture
def folder(bantin_env: Path, tmp_path: Path, vieneu_clips: list[tuple[Path, str]]) -> Iterator[Path]:  # noqa: F811
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
    src = tmp_path / "old broadcasts"
    (src / "2019").mkdir(parents=True)
    by_name = {wav.stem.split(" ")[0]: wav for wav, _ in vieneu_clips}
    shutil.copy(by_name["Bình"], src / "2019" / "2019-05-03 bản tin sáng.wav")
    shutil.copy(by_name["Ly"], src / "20200115_thong_bao.wav")
    (src / "hỏng.mp3").write_bytes(b"ID3 not really an mp3")
    (src / "notes.txt").write_text("not audio", encoding="utf-8")
    yield src


def test_ingest_folder_is_searchable_with_timestamps_and_resumable(
    folder: Path, prefect_harness: None, whisper: object,  # noqa: F811
) -> None:
    from flows.archive import ingest_recordings, progress_listener

    seen: list[dict[str, Any]] = []
    with progress_listener(seen.append):
        counts = ingest_recordings(str(folder), "29377", "vi")
    assert (counts["done"], counts["skipped"], counts["failed"]) == (2, 0, 1), counts
    assert "hỏng.mp3" in next(iter(counts["errors"]))
    assert sorted(o["status"] for o in seen if o["status"] != "listed") == ["done", "done", "failed"]

    with session() as s:
        res = archive_service.search_archive(s, archive_service.SearchRequest(text="nhin nhan", area="847"))
        assert res.total == 1, res.items
        hit = res.items[0]
        assert hit["title"] == "2019 05 03 bản tin sáng" and hit["broadcast_at"].startswith("2019-05-03")
        assert hit["moments"] and hit["moments"][0]["start"] == 0.0 and hit["moments"][0]["end"] > 1.0
        assert [t for t, m in hit["moments"][0]["snippet"] if m] == ["nhìn", "nhận"]
        rec = archive.find_entry(s, source_sha256=ingest._sha256(folder / "2019" /
                                                                          "2019-05-03 bản tin sáng.wav"))
        assert rec is not None and rec.recording_key and rec.transcript_key
        stored = json.loads(object_store().get_bytes(rec.transcript_key))
        assert stored["model"] == "whisper-base" and stored["segments"][0]["text"]
        original = (folder / "2019" / "2019-05-03 bản tin sáng.wav").read_bytes()
        assert object_store().get_bytes(rec.recording_key) == original
        dated = archive_service.search_archive(s, archive_service.SearchRequest(
            date_from=date(2020, 1, 15), date_to=date(2020, 1, 15)))
        assert [i["source"].endswith("20200115_thong_bao.wav") for i in dated.items] == [True]

    again = ingest_recordings(str(folder), "29377", "vi")
    assert (again["done"], again["skipped"], again["failed"]) == (0, 2, 1)  # done files are not transcribed again
    with session() as s:
        assert archive.count_entries(s) == archive.count_indexed(s) == 2


def test_ingest_refuses_bad_targets(bantin_env: Path) -> None:
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        with pytest.raises(Exception, match="unknown area"):
            ingest.check_ingest(s, "99999", "vi")
        with pytest.raises(InvalidInput, match="unknown language"):
            ingest.check_ingest(s, "29377", "klingon")
    with pytest.raises(InvalidInput, match="not a folder"):
        ingest.list_recordings(str(bantin_env / "missing"))
    with pytest.raises(InvalidInput, match="BANTIN_S3_ENDPOINT"):
        ingest.list_recordings("s3://archive/2019/")


def test_plan_ingest_checks_the_target_and_takes_the_first_files(bantin_env: Path, tmp_path: Path) -> None:
    upgrade(get_settings().database_url)
    src = tmp_path / "old"
    src.mkdir()
    for name in ("b.wav", "a.mp3", "c.m4a", "notes.txt"):
        (src / name).write_bytes(b"xx")
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        assert ingest.plan_ingest(s, str(src), "29377", "vi", 2) == ("vi", [str(src / "a.mp3"), str(src / "b.wav")])
        assert ingest.plan_ingest(s, str(src), "29377", "vi")[1] == [str(src / n) for n in ("a.mp3", "b.wav", "c.m4a")]
        assert ingest.plan_ingest(s, str(src), "29377", "vi", -1) == ("vi", [])
        with pytest.raises(InvalidInput, match="unknown language"):
            ingest.plan_ingest(s, str(src), "29377", "klingon")
    counts: dict[str, Any] = {"done": 0, "skipped": 0, "failed": 0, "errors": {}}
    ingest.tally(counts, "a.mp3", {"status": "done", "message": ""})
    ingest.tally(counts, "b.wav", {"status": "failed", "message": "MediaError: silent"})
    assert counts == {"done": 1, "skipped": 0, "failed": 1, "errors": {"b.wav": "MediaError: silent"}}


def test_s3_prefix_is_listed_and_fetched(bantin_env: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    from minio import Minio

    for key, value in {"ENDPOINT": s3_endpoint, "ACCESS_KEY": "test", "SECRET_KEY": "test-secret",
                       "SECURE": "false"}.items():
        monkeypatch.setenv(f"BANTIN_S3_{key}", value)
    get_settings.cache_clear()
    client = Minio(s3_endpoint, access_key="test", secret_key="test-secret", secure=False)
    client.make_bucket("legacy")
    for name in ("2019/a.mp3", "2019/b.M4A", "2019/readme.txt", "2020/c.wav"):
        client.put_object("legacy", name, io.BytesIO(b"xx"), 2)
    assert ingest.list_recordings("s3://legacy/2019/") == ["s3://legacy/2019/a.mp3", "s3://legacy/2019/b.M4A"]
    upgrade(get_settings().database_url)
    with session() as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))

    def transcribe(path: Path, *, language: str | None = None) -> Any:  # the download is what is tested here
        assert path.read_bytes() == b"xx" and path.name == "a.mp3"
        raise InvalidInput("no speech in a.mp3")

    outcome = ingest.ingest_recording(session, object_store(), "s3://legacy/2019/a.mp3", area_code="29377",
                                               transcribe=transcribe)
    assert outcome.status == "failed" and "no speech" in outcome.message


def test_cli_ingest_counts_lists_failures_and_its_transcript_is_found_with_a_timestamp(
    folder: Path, prefect_harness: None, whisper: object,  # noqa: F811
) -> None:
    from prefect.settings import PREFECT_API_URL

    (folder / "20200115_thong_bao.wav").unlink()  # one clip is enough here (the flow test covers two)
    bantin = str(Path(sys.executable).with_name("bantin"))
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}  # the session's test server

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([bantin, *args], capture_output=True, text=True, env=env, timeout=300)

    out = run("archive", "ingest", str(folder), "--area", "29377", "--lang", "vi")
    assert out.returncode == 1, out.stderr  # a file failed: a script running the ingest must notice
    assert "1 transcribed, 0 already archived, 1 failed" in out.stdout
    failed = [line for line in out.stdout.splitlines() if line.startswith("  failed: ")]
    assert len(failed) == 1 and "hỏng.mp3: not a readable media file" in failed[0]
    assert "ingest" in out.stderr and "Concurrency limits" not in out.stderr  # the limit exists: slots are held
    found = run("search", "nhin nhan", "--area", "847")
    assert found.returncode == 0 and "1 result(s)" in found.stdout, found.stderr
    assert re.search(r"^\s+> 0:00\s+.*\[nhìn\] \[nhận\]", found.stdout, re.M), found.stdout
