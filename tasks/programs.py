"""Program tasks: plan the editions of a window, then build each one's audio and publish it to devices.

Tasks pass small plain values (IDs, object keys, texts). An edition whose inputs (packages, texts, frame,
loudness target) are unchanged is not rebuilt, and identical content planned for many communes is
assembled once and its audio reused, so the flow can run every few minutes.
"""

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.runtime import flow_run

from domain.canonical import canonical_json, sha256_hex
from domain.editions import EditionStatus
from domain.keys import manifest_key
from engines import audio, program_audio
from prompts import load_prompt
from services import programs as program_service
from services.programs import EditionJob
from services.runtime import object_store, session
from settings import get_settings
from storage.repositories import programs as repo
from tasks.retry import RETRY_TRANSIENT

PROGRAM_SCHEMA = "bantin.program/1"
FRAME_VERSION = 2  # bump when engines.program_audio's chime or assembly changes the sound


def _extra_inputs() -> dict[str, Any]:
    settings = get_settings()
    target = [settings.loudness_i, settings.loudness_tp, settings.loudness_lra]
    return {"frame_version": FRAME_VERSION, "target": target,
            "rate": settings.audio_sample_rate, "bitrate": settings.audio_bitrate, "voice": settings.espeak_voice,
            "prompts": [load_prompt(*program_service.INTRO_PROMPT).sha256,
                        load_prompt(*program_service.OUTRO_PROMPT).sha256]}


@task(**RETRY_TRANSIENT)
def plan_window(start_iso: str, end_iso: str, area_code: str | None = None) -> list[EditionJob]:
    """Plan the editions of slots starting in ``[start, end)``; record those that will not air, and return the
    ones whose audio must be (re)built.

    Skipped (overlap, quiet hours) and empty editions are saved with their reason so the programs page
    shows why nothing airs; an edition already published from the same inputs is left alone.

    Returns:
        Jobs for :func:`build_edition`.
    """
    with session() as s:
        jobs = program_service.plan_builds(s, start=datetime.fromisoformat(start_iso),
                                           end=datetime.fromisoformat(end_iso), area_code=area_code,
                                           extra_inputs=_extra_inputs(), flow_run_id=str(flow_run.id or ""))
    get_run_logger().info("%d edition(s) to build", len(jobs))
    return jobs


@task(task_run_name="edition-{job.area_code}-{job.slot_date}-{job.language}-p{job.program_id}", **RETRY_TRANSIENT)
def build_edition(job: EditionJob) -> str:
    """Assemble one edition (intro, bulletins with gaps, outro, loudness-normalised), store its audio and
    manifest, and publish it: from then on :func:`services.programs_on_air.program_items` hands it to devices.

    Identical inputs already built for another commune are reused without touching ffmpeg.

    Returns:
        The edition's manifest hash.
    """
    logger = get_run_logger()
    settings = get_settings()
    store = object_store()
    with session() as s:
        twin = repo.edition_by_inputs(s, job.inputs_hash)
        twin_audio = (twin.audio_key, twin.audio_sha256, twin.audio_size, twin.duration_s, dict(twin.detail)) \
            if twin is not None and twin.audio_key and store.exists(twin.audio_key) else None
    if twin_audio is not None:
        key, sha, size, duration, detail = twin_audio
        detail = {**detail, "reused": True}
        logger.info("edition %s/%s/%s: same inputs as an edition already built; reusing its audio",
                    job.area_code, job.slot_date, job.language)
    else:
        target = audio.LoudnessTarget(i=settings.loudness_i, tp=settings.loudness_tp, lra=settings.loudness_lra)
        with tempfile.TemporaryDirectory(prefix="bantin-program-") as tmp:
            work = Path(tmp)
            intro = program_audio.speak_line(job.intro_text, job.language, work / "intro.wav",
                                             voice=settings.espeak_voice)
            outro = program_audio.speak_line(job.outro_text, job.language, work / "outro.wav",
                                             voice=settings.espeak_voice)
            items = [store.download(item["audio_key"], work / f"item-{n:03d}.mp3") for n, item in enumerate(job.items)]
            built = program_audio.assemble_program(items, work / "program.mp3", intro=intro, outro=outro,
                                                   gap_s=job.gap_s, target=target,
                                                   sample_rate=settings.audio_sample_rate,
                                                   bitrate=settings.audio_bitrate)
            obj = store.put_file(work / "program.mp3", ext="mp3", media_type="audio/mpeg")
        report = built.report
        key, sha, size, duration = obj.key, obj.sha256, obj.size, report.duration_s

        def frame(line: program_audio.SpokenLine | None) -> dict[str, Any]:
            spoken = {"engine": line.engine, "voice": line.voice, "synthetic": line.synthetic,
                      "speech_s": round(line.duration_s, 2)} if line else {"synthetic": False, "speech_s": 0.0}
            speech = line.duration_s + program_audio.SPEECH_GAP_S if line else 0.0
            return {"spoken": line is not None, "chime_s": built.chime_s, **spoken,
                    "duration_s": round(built.chime_s + speech, 2)}

        detail = {"loudness": report.to_meta(), "on_target": report.within(0.5), "reused": False,
                  "intro": frame(intro), "outro": frame(outro),
                  "engine": f"ffmpeg-concat+{report.method}", "frame_version": FRAME_VERSION}
        if not report.within(0.5):
            logger.warning("programme measured %.2f LUFS, target %.1f", report.output_i, target.i)
    body = {
        "schema": PROGRAM_SCHEMA,
        "program": {"id": job.program_id, "name": job.program_name},
        "area_code": job.area_code, "language": job.language, "slot_date": job.slot_date,
        "starts_at": job.starts_at,
        "items": [{k: v for k, v in i.items() if k != "audio_key"} for i in job.items],
        "left_out": list(job.left_out),
        "audio": {"sha256": sha, "size": size, "duration_s": round(duration, 2)},
        "intro": job.intro_text, "outro": job.outro_text, "gap_s": job.gap_s, "inputs_hash": job.inputs_hash,
    }
    manifest_hash = sha256_hex(canonical_json(body))
    mkey = manifest_key(manifest_hash)
    store.put_at(mkey, canonical_json(body), media_type="application/json")
    with session() as s:
        repo.save_edition(
            s, program_id=job.program_id, slot_date=job.slot_date, area_code=job.area_code, language=job.language,
            starts_at=datetime.fromisoformat(job.starts_at), status=EditionStatus.PUBLISHED.value, actor="system",
            inputs_hash=job.inputs_hash, manifest_hash=manifest_hash, manifest_key=mkey, audio_key=key,
            audio_sha256=sha, audio_size=size, duration_s=round(duration, 2), items=list(job.items),
            left_out=list(job.left_out), detail=detail, error="")
    logger.info("edition %s %s %s published: %d item(s), %.0f s, manifest %s", job.area_code, job.slot_date,
                job.language, len(job.items), duration, manifest_hash[:12])
    return manifest_hash


@task
def mark_edition_failed(job: EditionJob, error: str) -> None:
    """Record why an edition could not be built.

    A previously published build of the same edition stays on offer (its packages are re-checked at every
    device poll, so it never carries a withdrawn item); the error is kept beside it for the programs page.
    """
    with session() as s:
        program_service.record_build_failure(s, job, error)
