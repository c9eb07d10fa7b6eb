"""Production decisions for the media of one variant: speech (a person's recording or synthesis), loudness
and e-board slides. Like ``services.production``, each function is one step, records its output with its
audit entries, skips work already stored, and needs no Prefect.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from domain.drafts import Channel
from domain.keys import sha256_of_key
from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.packages import AssetKind, VariantStatus
from domain.priority import Priority
from engines import audio, slides, textnorm, voices
from engines.errors import VoiceUnavailable
from services.emergency import base_url
from services.feedback_intake import feedback_link
from services.production import LOG, Logger, revision_of
from services.runtime import object_store, session
from settings import get_settings
from storage.models import AssetRecord, RecordingRecord
from storage.objects import StoredObject
from storage.repositories import areas, audit, packages, translations


def _stored(asset: AssetRecord | None) -> bool:
    return asset is not None and object_store().exists(asset.key)


def _variant_ready(s: Session, package_id: int, language: str) -> bool:
    return any(v.language == language and v.status is VariantStatus.READY for v in packages.variants_of(s, package_id))


def _asset(s: Session, package_id: int, language: str, kind: AssetKind) -> AssetRecord | None:
    return packages.get_asset(s, package_id=package_id, language=language, kind=kind, position=0)


def _produced(s: Session, package_id: int, language: str, kinds: list[str], meta: dict) -> None:
    audit.record(s, actor="system", action="asset.produced", entity="package", entity_id=package_id,
                 language=language, kinds=kinds, **meta)


def _record_recording(s: Session, package_id: int, language: str, recording: RecordingRecord) -> None:
    data_sha = sha256_of_key(recording.key) or ""
    size = len(object_store().get_bytes(recording.key))  # also verifies the bytes against the key
    meta = {"engine": "human", "recorded_by": recording.uploaded_by, "recording_id": recording.id,
            "synthetic": False, "duration_s": round(recording.duration_s, 2)}
    stored = StoredObject(recording.key, data_sha, size, "audio/*")
    packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.RAW_SPEECH, stored=stored,
                          meta=meta)
    rec = packages.variant_record(s, package_id, language)
    packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY,
                         translated_by=rec.translated_by if rec and rec.translated_by else recording.uploaded_by)
    _produced(s, package_id, language, ["raw_speech"], meta)


def synthesize_speech(package_id: int, language: str, *, log: Logger = LOG) -> bool:
    """Speak the loudspeaker script with the language's TTS voice (kept as an intermediate asset).

    A person's recording of this revision wins over synthesis, unless the words changed after it was read.

    Returns:
        True when speech exists for the variant; False when the variant is not ready, the draft has
        no loudspeaker channel, or no voice exists for the language (the variant then waits for a recording).
    """
    with session() as s:
        rev = revision_of(s, package_id)
        if Channel.LOUDSPEAKER not in rev.content.channels or not _variant_ready(s, package_id, language):
            return False
        script_asset = _asset(s, package_id, language, AssetKind.SCRIPT)
        assert script_asset is not None  # a ready variant always has a script
        raw = _asset(s, package_id, language, AssetKind.RAW_SPEECH)
        revision_id = packages.get_package(s, package_id).revision_id
        recording = translations.latest_recording(s, revision_id, language)
        text = translations.latest_translation(s, revision_id, language)
        if text is not None and recording is not None and text.created_at > recording.created_at:
            recording = None  # the words changed after they were read: speak the new ones
        if recording is not None:  # a person's voice always wins over synthesis
            _record_recording(s, package_id, language, recording)
            log.info("%s speech: recording %s by %s", language, recording.id, recording.uploaded_by)
            return True
    if _stored(raw) and raw is not None and raw.meta.get("script_sha256") == script_asset.sha256:
        log.info("%s speech already produced from this script; skipping", language)
        return True
    store = object_store()
    script = store.get_bytes(script_asset.key).decode("utf-8")
    engine = voices.engine_for(language)  # the registry's voice for the language; espeak-ng for vi by default
    with tempfile.TemporaryDirectory(prefix="bantin-tts-") as tmp:
        try:
            # Read abbreviations, numbers, dates, times and units as words; the script itself is unchanged.
            spoken = textnorm.normalize_for_speech(script) if language == SOURCE_LANGUAGE else script
            result = engine.synthesize(spoken, language, Path(tmp) / "speech.wav")
        except VoiceUnavailable as exc:
            # The text still serves the e-boards; only the loudspeakers wait for a person's recording.
            with session() as s:
                rec = packages.variant_record(s, package_id, language)
                packages.set_variant(s, package_id=package_id, language=language, status=VariantStatus.READY,
                                     blocked_reason=f"{exc}: loudspeakers need a person's recording",
                                     translated_by=rec.translated_by if rec else None)
            log.warning("variant %s has no synthetic voice: %s", language, exc)
            return False
        obj = store.put_file(result.path, ext="wav", media_type="audio/wav")
    meta = {"engine": engine.name, "engine_version": engine.version(), "voice": result.voice,
            "model": result.model, "licence": result.licence,
            "synthetic": result.synthetic, "duration_s": round(result.duration_s, 2),
            "script_sha256": script_asset.sha256, "text_normalization": "textnorm"}
    with session() as s:
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.RAW_SPEECH,
                              stored=obj, meta=meta)
        _produced(s, package_id, language, ["raw_speech"], meta)
    log.info("%s speech: %.1f s by %s (synthetic)", language, result.duration_s, engine.name)
    return True


def normalize_audio(package_id: int, language: str, *, log: Logger = LOG) -> bool:
    """Two-pass loudness normalisation to the speech target and MP3 encoding, verified after encoding.

    Returns:
        True when the broadcast audio exists.
    """
    settings = get_settings()
    with session() as s:
        raw = _asset(s, package_id, language, AssetKind.RAW_SPEECH)
        existing = _asset(s, package_id, language, AssetKind.AUDIO)
    if raw is None:
        return False
    if _stored(existing) and existing is not None and existing.meta.get("source_sha256") == raw.sha256:
        log.info("%s audio already normalised; skipping", language)
        return True
    target = audio.LoudnessTarget(i=settings.loudness_i, tp=settings.loudness_tp, lra=settings.loudness_lra)
    store = object_store()
    with tempfile.TemporaryDirectory(prefix="bantin-loud-") as tmp:
        src = store.download(raw.key, Path(tmp) / "raw.wav")
        report = audio.normalize_to_mp3(src, Path(tmp) / "out.mp3", target=target,
                                        sample_rate=settings.audio_sample_rate, bitrate=settings.audio_bitrate,
                                        peaky=bool(raw.meta.get("synthetic")))
        obj = store.put_file(Path(tmp) / "out.mp3", ext="mp3", media_type="audio/mpeg")
    meta = {**report.to_meta(), "engine": f"ffmpeg-{report.method}", "source_sha256": raw.sha256,
            "synthetic": bool(raw.meta.get("synthetic")), "on_target": report.within(0.5)}
    with session() as s:
        packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.AUDIO, stored=obj,
                              meta=meta)
        _produced(s, package_id, language, ["audio"], meta)
    if not report.within(0.5):
        log.warning("%s audio measured %.2f LUFS, target %.1f", language, report.output_i, target.i)
    log.info("%s audio: %.2f LUFS integrated, %.2f dBTP", language, report.output_i, report.output_tp)
    return True


def render_board_slides(package_id: int, language: str, *, log: Logger = LOG) -> int:
    """Render the board text as 1920x1080 slides for e-boards, each with the QR code of the feedback page.

    Returns:
        The number of slides (0 when the draft has no board channel or the variant is not ready).
    """
    settings = get_settings()
    with session() as s:
        rev = revision_of(s, package_id)
        if Channel.BOARD not in rev.content.channels or not _variant_ready(s, package_id, language):
            return 0
        board = _asset(s, package_id, language, AssetKind.BOARD_TEXT)
        assert board is not None
        codes = list(rev.content.area_codes)
        known = areas.existing_codes(s, codes)
        area = ", ".join(areas.get_area(s, code).name for code in codes if code in known)
        feedback_url = feedback_link(s, base_url(), codes, package_id)
    store = object_store()
    body = store.get_bytes(board.key).decode("utf-8")
    priority = rev.content.priority
    # A translated variant shows its own title (kept with its board text), never the Vietnamese one.
    title = rev.content.title if language == SOURCE_LANGUAGE else str(board.meta.get("title") or "")
    with tempfile.TemporaryDirectory(prefix="bantin-slides-") as tmp:
        paths = slides.render_slides(
            title=title, body=body, language_script=LANGUAGES[language].script,
            priority_label=priority.label_vi.upper(), emergency=priority is Priority.KHAN_CAP,
            issuer=rev.content.requesting_unit, area=area, footer=rev.content.source_ref,
            valid_until=rev.content.expires_at, out_dir=Path(tmp), font_dir=settings.font_dir,
            feedback_url=feedback_url,
        )
        stored = [store.put_file(p, ext="png", media_type="image/png") for p in paths]
    meta = {"engine": "pillow-raqm", "width": 1920, "height": 1080, "board_text_sha256": board.sha256,
            "feedback_url": feedback_url}
    with session() as s:
        for n, obj in enumerate(stored):
            packages.record_asset(s, package_id=package_id, language=language, kind=AssetKind.SLIDE,
                                  stored=obj, meta={**meta, "page": n + 1, "pages": len(stored)}, position=n)
        packages.drop_assets_from(s, package_id=package_id, language=language, kind=AssetKind.SLIDE,
                                  position=len(stored))
    log.info("%s: %d slide(s)", language, len(stored))
    return len(stored)
