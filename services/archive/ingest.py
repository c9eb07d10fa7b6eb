"""Legacy recordings (a folder or an S3 prefix of mp3, wav, m4a) -> Whisper transcripts -> archive entries.

Resumable: an entry remembers its file's SHA-256, so a rerun skips what is done and retries what failed.
"""

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from domain.drafts import Channel
from domain.errors import InvalidInput
from domain.search import ARCHIVED, EntryKind, IngestStatus
from engines import asr
from services.archive import AUDIO_SUFFIXES, day_start
from settings import get_settings
from storage.objects import ObjectStore
from storage.repositories import archive, areas, audit


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    source: str
    status: IngestStatus
    entry_id: int | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class RecordingSource:
    """Where the recordings are: a local folder or ``s3://bucket/prefix`` on the configured S3 server."""

    raw: str
    bucket: str = ""
    prefix: str = ""
    folder: Path | None = None


def parse_source(raw: str) -> RecordingSource:
    """Raises InvalidInput for a missing folder or an S3 source without S3 settings."""
    if raw.startswith("s3://"):
        bucket, _, prefix = raw.removeprefix("s3://").partition("/")
        if not bucket:
            raise InvalidInput(f"'{raw}': name a bucket, e.g. s3://archive/2019/")
        settings = get_settings()
        if not (settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key):
            raise InvalidInput("an s3:// source needs BANTIN_S3_ENDPOINT, BANTIN_S3_ACCESS_KEY and "
                               "BANTIN_S3_SECRET_KEY")
        return RecordingSource(raw, bucket=bucket, prefix=prefix)
    folder = Path(raw).expanduser()
    if not folder.is_dir():
        raise InvalidInput(f"not a folder: {raw}")
    return RecordingSource(raw, folder=folder.resolve())


def _s3_client() -> Any:
    from minio import Minio

    st = get_settings()
    return Minio(st.s3_endpoint, access_key=st.s3_access_key, secret_key=st.s3_secret_key, secure=st.s3_secure,
                 region=st.s3_region)


def list_recordings(raw: str) -> list[str]:
    """Every mp3, wav and m4a file under the source, in name order, as paths or ``s3://`` URLs."""
    src = parse_source(raw)
    if src.folder is not None:
        return [str(p) for p in sorted(src.folder.rglob("*")) if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]
    objects = _s3_client().list_objects(src.bucket, prefix=src.prefix, recursive=True)
    return sorted(f"s3://{src.bucket}/{o.object_name}" for o in objects
                  if Path(o.object_name).suffix.lower() in AUDIO_SUFFIXES)


@contextmanager
def _local_copy(ref: str) -> Iterator[tuple[Path, datetime]]:
    """The recording as a local file, and its modification time."""
    if not ref.startswith("s3://"):
        path = Path(ref)
        yield path, datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return
    bucket, _, key = ref.removeprefix("s3://").partition("/")
    with tempfile.TemporaryDirectory(prefix="bantin-ingest-") as tmp:
        dest = Path(tmp) / Path(key).name
        obj = _s3_client().fget_object(bucket, key, str(dest))
        yield dest, obj.last_modified or datetime.now(UTC)


_DATE_IN_NAME = re.compile(r"(?<!\d)(19\d\d|20\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")


def recorded_at(name: str, fallback: datetime) -> datetime:
    """The broadcast day a file name gives (``2019-05-03 thong bao.mp3``, ``20190503.wav``), at noon in
    Vietnam, or ``fallback`` (the file's modification time)."""
    m = _DATE_IN_NAME.search(name)
    if m:
        try:
            return day_start(date(int(m[1]), int(m[2]), int(m[3]))) + timedelta(hours=12)
        except ValueError:
            pass
    return fallback


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_ingest(s: Session, area_code: str, language: str | None) -> str | None:
    """Validate an ingest's target before any work. Raises InvalidInput (NotFound for an unknown area)."""
    areas.get_area(s, area_code)
    return asr.check_language(language)


def plan_ingest(s: Session, source: str, area_code: str, language: str | None,
                limit: int | None = None) -> tuple[str | None, list[str]]:
    """The checked language and the recordings an ingest works on: the first ``limit`` of the source's files
    in name order (all of them without a limit). Raises like :func:`check_ingest` and :func:`list_recordings`."""
    language = check_ingest(s, area_code, language)
    refs = list_recordings(source)
    return language, refs if limit is None else refs[:max(0, limit)]


def tally(counts: dict[str, Any], ref: str, outcome: dict[str, Any]) -> None:
    """Add one file's outcome to an ingest's counts; a failure's message is kept by its source."""
    counts[outcome["status"]] += 1
    if outcome["status"] == IngestStatus.FAILED:
        counts["errors"][ref] = outcome["message"]


def ingest_recording(
    open_session: Callable[[], AbstractContextManager[Session]], store: ObjectStore, ref: str, *,
    area_code: str, language: str | None = None, slot: Callable[[], AbstractContextManager[None]] = nullcontext,
    transcribe: Callable[..., asr.Transcript] = asr.transcribe,
) -> IngestOutcome:
    """Transcribe one old recording into an archive entry; a recording already archived is skipped.

    The recording and its timed transcript (JSON) go to the object store under content keys. Bad audio
    (corrupt, silent) is reported as a failed outcome, not raised, so one file cannot stop a folder; the
    next run tries it again. Model problems are raised: every other file would fail the same way.

    Args:
        ref: a local path or ``s3://bucket/key`` from :func:`list_recordings`.
        slot: held around the transcription (``tasks.limits.ml_slot``).

    Raises:
        ModelUnavailable, ModelChecksumMismatch: the ASR model cannot be used.
    """
    from engines.errors import MediaError

    with _local_copy(ref) as (path, mtime):
        sha = _sha256(path)
        with open_session() as s:
            done = archive.find_entry(s, source_sha256=sha)
            if done is not None:
                return IngestOutcome(ref, IngestStatus.SKIPPED, done.id, "already in the archive")
        suffix = path.suffix.lower()
        try:
            with slot():
                transcript = transcribe(path, language=language)
        except (MediaError, InvalidInput) as exc:
            return IngestOutcome(ref, IngestStatus.FAILED, None, str(exc))
        stored = store.put_file(path, ext=suffix.lstrip("."), media_type=AUDIO_SUFFIXES[suffix])
    body = json.dumps(transcript.to_dict(), ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    transcript_obj = store.put_bytes(body, ext="json", media_type="application/json")
    name = Path(ref).name
    data = archive.EntryData(
        kind=EntryKind.RECORDING, language=language or transcript.language, title=_title_of(name),
        sections=[{"kind": "transcript", "text": transcript.text}], area_codes=[area_code], status=ARCHIVED,
        broadcast_at=recorded_at(name, mtime), source_sha256=sha, channels=[Channel.LOUDSPEAKER.value],
        segments=[[seg.start, seg.end, seg.text] for seg in transcript.segments], recording_key=stored.key,
        transcript_key=transcript_obj.key, source_name=ref, duration_s=transcript.duration_s,
        meta={"engine": transcript.engine, "engine_version": transcript.engine_version, "model": transcript.model,
              "model_sha256": transcript.model_sha256, "language_probability": transcript.language_probability})
    with open_session() as s:
        rec, _ = archive.upsert_entry(s, data, salt=int(sha[:8], 16))
        audit.record(s, actor="system", action="archive.ingested", entity="archive_entry", entity_id=rec.id,
                     source=ref, sha256=sha, recording_key=stored.key, transcript_key=transcript_obj.key,
                     engine=transcript.engine, model=transcript.model, model_sha256=transcript.model_sha256,
                     language=data.language, duration_s=transcript.duration_s)
        return IngestOutcome(ref, IngestStatus.DONE, rec.id, f"{len(transcript.segments)} segments")


def _title_of(name: str) -> str:
    stem = Path(name).stem
    return " ".join(re.sub(r"[_\-.]+", " ", stem).split())[:300] or name


