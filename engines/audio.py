"""Loudness normalisation of loudspeaker audio: a speech target, MP3 out, verified on the encoded file.

Commune loudspeakers play items back to back, so every asset must sit at the same integrated
loudness (default -16 LUFS, -1.5 dBTP) or listeners reach for the volume knob between items.

The usual path decodes the input once per pass and encodes once (:mod:`engines.ffmpeg_loudness`):

1. Measure with ``ebur128`` (integrated loudness, loudness range, true peak).
2. Peaky speech (espeak-ng: about -19 LUFS with +0.1 dBTP, a crest factor near 19 dB) cannot reach
   -16 LUFS under a -1.5 dBTP ceiling with one gain, so a look-ahead limiter goes first; a few limiter
   cuts are measured in one decode and the cut that brings the crest under the goal is interpolated
   (espeak speech needs 8-13 dB, recorded as ``limiter_db``).
3. Gain to the target, corrected by the encoder's own level change (libmp3lame at <=160 kb/s, 44.1 kHz
   scales by 0.95: the file would be 0.45 LU quiet), and encode; the encoded frames are metered as
   they are written. Only if that check is off by more than :data:`RETARGET_LU` (or over the ceiling)
   is the file encoded once more with the measured error taken off (``encodes: 2``).

Inputs a gain cannot serve take the two-pass loudnorm path, as before: a loudness range wider than the
target (loudnorm's dynamic mode compresses it), or peaks that a :data:`MAX_LIMIT_DB` cut does not tame.
There, clips shorter than loudnorm's 3 s window are padded to :data:`SHORT_CLIP_S` and trimmed back
(ffmpeg 5.1 gives them a peak-capped linear gain that can land 20-30 LU low).

Every step is deterministic, so reruns still give identical bytes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from engines import ffmpeg as ff
from engines import ffmpeg_loudness as fl
from engines.errors import MediaError

SILENCE_LUFS = -70.0  # BS.1770's absolute gate: nothing louder means there is nothing to normalise
SHORT_CLIP_S = 3.5  # loudnorm needs one full 3 s window; pad anything shorter to this length
RETARGET_LU = 0.2  # ebur128 reports to 0.1 LU; a smaller error is measurement noise
CREST_MARGIN_DB = 1.0  # head-room for the retargeted pass and MP3 peak overshoot
LIMITER_STEPS = 3  # extra pass-1 measurements allowed while searching for the limiter cut
MAX_LIMIT_DB = 18.0  # beyond this a limiter audibly wrecks speech; accept dynamic mode instead
TRIAL_CUTS = (0.6, 0.8, 1.0, 1.25, 1.6)  # limiter cuts measured in one decode, as multiples of the first guess
SYNTHETIC_CREST_DB = 19.0  # espeak-ng speech: about -19 LUFS under a 0 dBFS peak (the prior of a peaky input)
_LOUDNORM_I_RANGE = (-70.0, -5.0)
_LOUDNORM_TP_RANGE = (-9.0, 0.0)


@dataclass(frozen=True)
class LoudnessTarget:
    """Integrated loudness (LUFS), true-peak ceiling (dBTP) and loudness range (LU) to aim for."""

    i: float = -16.0
    tp: float = -1.5
    lra: float = 11.0


def _json_number(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


@dataclass(frozen=True)
class LoudnessReport:
    """What normalisation measured on the way in and verified on the encoded file."""

    input_i: float
    input_tp: float
    input_lra: float
    output_i: float
    output_tp: float
    output_lra: float
    normalization_type: str
    duration_s: float
    sample_rate: int
    bitrate: str
    target: LoudnessTarget
    limiter_db: float = 0.0  # peak cut applied before loudnorm (0: none)
    encodes: int = 1  # 2 when the encoded file needed a corrective encode
    method: str = "gain"  # "gain": measured gain (+ limiter); "loudnorm": two-pass loudnorm

    def within(self, tolerance_lu: float = 0.5) -> bool:
        """Whether the output is within ``tolerance_lu`` of the target and not over the peak ceiling.

        Args:
            tolerance_lu: Allowed deviation of integrated loudness, also allowed above the TP ceiling.

        Returns:
            True when the encoded file meets the target.
        """
        return (
            abs(self.output_i - self.target.i) <= tolerance_lu
            and self.output_tp <= self.target.tp + tolerance_lu
        )

    def to_meta(self) -> dict[str, Any]:
        """JSON-safe metadata for the asset record (numbers rounded to 0.01, infinities as None).

        Returns:
            A flat dict plus a nested ``target`` dict.
        """
        meta: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "target":
                meta[key] = {k: _json_number(v) for k, v in value.items()}
            elif isinstance(value, float):
                meta[key] = _json_number(value)
            else:
                meta[key] = value
        return meta


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    return min(max(value, bounds[0]), bounds[1])


def _crest(measured: dict[str, Any]) -> float:
    return float(measured["input_tp"]) - float(measured["input_i"])


def _tame_peaks(
    src: Path, target: LoudnessTarget, prep: ff.Conditioning, measured: dict[str, Any]
) -> tuple[ff.Conditioning, dict[str, Any], float]:
    """Add a peak limiter when the input's crest factor rules out loudnorm's linear mode.

    loudnorm applies one linear gain only if the gained true peak stays under the ceiling; otherwise
    it falls back to dynamic mode, whose limiter left peaky speech (espeak: crest ~18 dB) 0.7-1.3 LU
    short of target even after retargeting. A look-ahead limiter before loudnorm lowers the crest so
    linear mode applies and lands on target. How much loudness a cut of N dB removes depends on the
    signal, so the cut is found by a few secant steps on re-measured crest factors.

    Returns:
        The conditioning to use, its pass-1 measurement, and the limiter cut in dB (0 if none).
    """
    goal = target.tp - target.i - CREST_MARGIN_DB
    crest = _crest(measured)
    if crest <= goal or float(measured["input_lra"]) > target.lra:
        # Linear mode is already possible, or impossible anyway because of the loudness range
        # (then dynamic mode is the right tool and a limiter would only add distortion).
        return prep, measured, 0.0
    gain = -float(measured["input_tp"])  # put the loudest peak at 0 dBFS so the cut is relative
    best = (prep, measured, 0.0)
    cut, last_cut, last_crest = 2.0 * (crest - goal), 0.0, crest  # speech loses ~0.5 dB crest per dB cut
    for _ in range(LIMITER_STEPS):
        cut = min(cut, MAX_LIMIT_DB)
        trial = replace(prep, gain_db=gain, limit_dbfs=-cut)
        trial_measured = ff.loudnorm_measure(src, i=target.i, tp=target.tp, lra=target.lra, prep=trial)
        best = (trial, trial_measured, cut)
        trial_crest = _crest(trial_measured)
        if trial_crest <= goal or cut >= MAX_LIMIT_DB:
            break
        slope = max((last_crest - trial_crest) / (cut - last_cut), 0.1)
        last_cut, last_crest = cut, trial_crest
        cut += (trial_crest - goal) / slope
    return best


def _speculative_cuts(target: LoudnessTarget) -> list[float]:
    """Limiter cuts below 0 dBFS to measure in the first decode of speech expected to be peaky (synthetic
    speech peaks at full scale with a crest near :data:`SYNTHETIC_CREST_DB`): the first guess's trials."""
    guess = 2.0 * (SYNTHETIC_CREST_DB - (target.tp - target.i - CREST_MARGIN_DB))
    return sorted({round(min(guess * f, MAX_LIMIT_DB), 2) for f in TRIAL_CUTS})


def _bracketed(points: list[tuple[float, float, float]], goal: float) -> tuple[float, float] | None:
    """The cut reaching the crest ``goal``, interpolated between the two measured points (cut, crest, level)
    that bracket it, and its level; None when no measured cut reaches it."""
    for (cut_a, crest_a, i_a), (cut_b, crest_b, i_b) in itertools.pairwise(points):
        if crest_b <= goal:
            frac = min(max((crest_a - goal) / (crest_a - crest_b), 0.0), 1.0) if crest_a > crest_b else 1.0
            return cut_a + frac * (cut_b - cut_a), i_a + frac * (i_b - i_a)
    return None


def _limiter_plan(
    src: Path, target: LoudnessTarget, base: ff.Conditioning, first: fl.R128,
    tried: list[tuple[float, fl.R128]] | None = None,
) -> tuple[ff.Conditioning, float, float] | None:
    """Choose the conditioning whose peaks fit under the ceiling once gained to the target.

    Speech whose crest factor (true peak minus loudness) is too high for one linear gain gets a
    look-ahead limiter; how much loudness a cut of N dB removes depends on the signal, so five cuts
    around a first guess are measured in one decode (split over two processes; espeak-ng voices need
    0.65-1.5 times the guess) and the cut that reaches the crest goal is interpolated between the two
    that bracket it. Only when all five fall short is :data:`MAX_LIMIT_DB` measured as well.

    ``tried``: cuts below 0 dBFS (no gain) already measured in the first decode (:func:`_speculative_cuts`);
    when two of them bracket the goal no further decode is needed.

    Returns:
        ``(conditioning, its integrated loudness, limiter cut in dB under the input's peak)``, or None when
        even :data:`MAX_LIMIT_DB` leaves the crest too high (then loudnorm's dynamic mode is the tool).
    """
    goal = target.tp - target.i - CREST_MARGIN_DB
    crest = first.peak - first.i
    if crest <= goal:
        return base, first.i, 0.0
    if tried:
        found = _bracketed([(0.0, crest, first.i), *((c, m.peak - m.i, m.i) for c, m in tried)], goal)
        if found is not None:
            cut, level = found
            return replace(base, limit_dbfs=-cut), level, max(cut + first.peak, 0.0)
    gain = -first.peak  # put the loudest peak at 0 dBFS so the cut is relative to it
    guess = 2.0 * (crest - goal)  # speech loses ~0.5 dB crest per dB cut
    points = [(0.0, crest, first.i + gain)]
    rounds = [sorted({round(min(guess * f, MAX_LIMIT_DB), 2) for f in TRIAL_CUTS}), [MAX_LIMIT_DB]]
    for cuts in rounds:
        cuts = [c for c in cuts if c > points[-1][0]]
        trials = [replace(base, gain_db=gain, limit_dbfs=-cut) for cut in cuts]
        measured = fl.measure_variants(src, trials, true_peak=False, processes=2)
        points += [(c, m.peak - m.i, m.i) for c, m in zip(cuts, measured, strict=True)]
        found = _bracketed(points, goal)
        if found is not None:
            return replace(base, gain_db=gain, limit_dbfs=-found[0]), found[1], found[0]
    return None


def normalize_to_mp3(
    src: Path,
    dst: Path,
    *,
    target: LoudnessTarget,
    sample_rate: int = 44100,
    bitrate: str = "128k",
    channels: int = 1,
    peaky: bool = False,
) -> LoudnessReport:
    """Normalise any readable audio file to ``target`` and write it as MP3.

    Measure (one decode), choose a gain and, for peaky speech, a limiter cut (one more decode), then
    encode once while the encoded frames are metered; see the module docstring. Inputs a gain cannot
    serve go through two-pass loudnorm. The same input and arguments always produce the same bytes.

    Args:
        src: Input audio (any format ffmpeg reads).
        dst: Output MP3 path; replaced atomically.
        target: Loudness target.
        sample_rate: Output sample rate in Hz.
        bitrate: MP3 bitrate such as ``"128k"``.
        channels: Output channel count (1 for loudspeakers).
        peaky: The input is synthetic speech (full-scale peaks, a high crest factor): the limiter cuts it
            most likely needs are measured in the first decode, beside the input's own loudness, which
            saves a decode (and is only wasted work when the input was not peaky after all).

    Returns:
        A report; check :meth:`LoudnessReport.within` before accepting the asset.

    Raises:
        MediaError: The input is missing, empty, corrupt, or silent.
        EngineError: ffmpeg is missing or timed out.
    """
    src, dst = Path(src), Path(dst)
    # Measured and limited at the input's own rate; encode_verified resamples last.
    base = ff.Conditioning(channels=channels)
    cuts = _speculative_cuts(target) if peaky else []
    trials = [replace(base, limit_dbfs=-cut) for cut in cuts]
    first, *measured = fl.measure_variants(src, [base, *trials], true_peak=[True] + [False] * len(trials),
                                           processes=2 if trials else 1)
    if not math.isfinite(first.i) or first.i <= SILENCE_LUFS:
        raise MediaError(
            f"audio is silent: {src.name} measures {first.i} LUFS (nothing above {SILENCE_LUFS:.0f})"
        )
    tried = list(zip(cuts, measured, strict=True))
    plan = _limiter_plan(src, target, base, first, tried) if first.lra <= target.lra else None
    if plan is None:
        return _normalize_with_loudnorm(src, dst, ff.probe(src), target=target, sample_rate=sample_rate,
                                        bitrate=bitrate, channels=channels)
    prep, level, limiter_db = plan
    gain = target.i - level - fl.encoder_gain_db(sample_rate, channels, bitrate)
    kwargs: dict[str, Any] = dict(prep=prep, sample_rate=sample_rate, channels=channels, bitrate=bitrate)
    out = fl.encode_verified(src, dst, post_gain_db=gain, **kwargs)
    encodes = 1
    error_i, over_tp = target.i - out.i, out.peak - target.tp
    if abs(error_i) > RETARGET_LU or over_tp > RETARGET_LU:
        # Rare (the estimate is interpolated): correct by the measured error, never past the ceiling.
        out = fl.encode_verified(src, dst, post_gain_db=gain + min(error_i, -over_tp), **kwargs)
        encodes = 2
    return LoudnessReport(
        input_i=first.i,
        input_tp=first.peak,
        input_lra=first.lra,
        output_i=out.i,
        output_tp=out.peak,
        output_lra=out.lra,
        normalization_type="linear",
        duration_s=first.duration_s,  # every step keeps the length; a test decodes the file to check
        sample_rate=sample_rate,
        bitrate=bitrate,
        target=target,
        limiter_db=round(limiter_db, 2),
        encodes=encodes,
        method="gain",
    )


def _normalize_with_loudnorm(
    src: Path, dst: Path, info: ff.MediaInfo, *, target: LoudnessTarget, sample_rate: int, bitrate: str,
    channels: int,
) -> LoudnessReport:
    """The loudnorm path: two-pass loudnorm, verified, retargeted once if the encoder moved the level.

    Used when a gain cannot do the job: a loudness range above the target (dynamic mode compresses it)
    or peaks the limiter cannot tame within :data:`MAX_LIMIT_DB`. Short clips are padded for loudnorm's
    3 s window and trimmed back.
    """
    short = info.duration_s < SHORT_CLIP_S
    prep = ff.Conditioning(
        sample_rate=sample_rate, channels=channels, pad_to_s=SHORT_CLIP_S if short else None
    )
    original = ff.loudnorm_measure(src, i=target.i, tp=target.tp, lra=target.lra, prep=prep)
    input_i = float(original["input_i"])
    if not math.isfinite(input_i) or input_i < SILENCE_LUFS:
        raise MediaError(
            f"audio is silent: {src.name} measures {input_i} LUFS (nothing above {SILENCE_LUFS:.0f})"
        )
    prep, measured, limiter_db = _tame_peaks(src, target, prep, original)

    def encode(i: float, tp: float) -> tuple[dict[str, Any], tuple[float, float, float]]:
        result = ff.loudnorm_apply(
            src, dst, i=i, tp=tp, lra=target.lra, measured=measured, sample_rate=sample_rate,
            bitrate=bitrate, channels=channels, prep=prep, trim_to_s=info.duration_s if short else None,
        )
        return result, ff.ebur128(dst)

    # Aim past the target by the encoder's own level change, so the file (not the PCM) lands on it.
    first_i = _clamp(target.i - fl.encoder_gain_db(sample_rate, channels, bitrate), _LOUDNORM_I_RANGE)
    result, (out_i, out_tp, out_lra) = encode(first_i, target.tp)
    encodes = 1
    error_i = target.i - out_i
    over_tp = out_tp - target.tp
    if abs(error_i) > RETARGET_LU or over_tp > RETARGET_LU:
        # Aim past the target by the error the encoder introduced; the pass-1 measurement still
        # describes the (conditioned) input, so it stays valid.
        retry_i = _clamp(target.i + error_i, _LOUDNORM_I_RANGE)
        retry_tp = _clamp(target.tp - max(over_tp, 0.0), _LOUDNORM_TP_RANGE)
        result, (out_i, out_tp, out_lra) = encode(retry_i, retry_tp)
        encodes = 2

    return LoudnessReport(
        input_i=input_i,
        input_tp=float(original["input_tp"]),
        input_lra=float(original["input_lra"]),
        output_i=out_i,
        output_tp=out_tp,
        output_lra=out_lra,
        normalization_type=str(result.get("normalization_type", "unknown")),
        duration_s=ff.probe(dst).duration_s,
        sample_rate=sample_rate,
        bitrate=bitrate,
        target=target,
        limiter_db=round(limiter_db, 2),
        encodes=encodes,
        method="loudnorm",
    )
