"""Loudness normalisation of loudspeaker audio: two-pass loudnorm to a speech target, MP3 out, verified.

Commune loudspeakers play items back to back, so every asset must sit at the same integrated
loudness (default -16 LUFS, -1.5 dBTP) or listeners reach for the volume knob between items.

Measured behaviour of Debian's ffmpeg 5.1 that shapes this module:

* Clips shorter than loudnorm's 3 s window skip dynamic mode and get a peak-limited linear gain that
  can land far off target (a 1.3 s espeak clip came out at -35.5 LUFS for a -16 target). Such clips
  are padded with silence to :data:`SHORT_CLIP_S` for both passes and trimmed back afterwards, which
  brings them into the normal path.
* Peaky speech (espeak-ng: about -19 LUFS with +0.1 dBTP, a crest factor near 19 dB) cannot reach
  -16 LUFS under a -1.5 dBTP ceiling with one linear gain, so loudnorm falls back to dynamic mode,
  whose limiter left it 0.7-1.3 LU short. A look-ahead limiter is then put in front of loudnorm (see
  :func:`_tame_peaks`); espeak speech needs 8-13 dB of peak cut, recorded as ``limiter_db``.
* libmp3lame at <=160 kb/s makes the decoded output about 0.45 LU quieter than the PCM it was given
  (measured on a plain 1 kHz sine as well as noise). So the encoded file is measured with ``ebur128``
  and, if it is off by more than :data:`RETARGET_LU` (or its true peak is over the ceiling), pass 2
  runs once more against a target shifted by the measured error.

Every step is deterministic, so reruns still give identical bytes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from engines import ffmpeg as ff
from engines.errors import MediaError

SILENCE_LUFS = -70.0  # BS.1770's absolute gate: nothing louder means there is nothing to normalise
SHORT_CLIP_S = 3.5  # loudnorm needs one full 3 s window; pad anything shorter to this length
RETARGET_LU = 0.2  # ebur128 reports to 0.1 LU; a smaller error is measurement noise
CREST_MARGIN_DB = 1.0  # head-room for the retargeted pass and MP3 peak overshoot
LIMITER_STEPS = 3  # extra pass-1 measurements allowed while searching for the limiter cut
MAX_LIMIT_DB = 18.0  # beyond this a limiter audibly wrecks speech; accept dynamic mode instead
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
    encodes: int = 1  # 2 when the encoded file needed a retargeted pass 2

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


def normalize_to_mp3(
    src: Path,
    dst: Path,
    *,
    target: LoudnessTarget,
    sample_rate: int = 44100,
    bitrate: str = "128k",
    channels: int = 1,
) -> LoudnessReport:
    """Normalise any readable audio file to ``target`` and write it as MP3.

    Two-pass loudnorm (measure, then apply with ``linear=true``), then an independent EBU R128
    measurement of the encoded output; see the module docstring for short-clip padding, peak
    limiting and the corrective pass. The same input and arguments always produce the same bytes.

    Args:
        src: Input audio (any format ffmpeg reads).
        dst: Output MP3 path; replaced atomically.
        target: Loudness target.
        sample_rate: Output sample rate in Hz.
        bitrate: MP3 bitrate such as ``"128k"``.
        channels: Output channel count (1 for loudspeakers).

    Returns:
        A report; check :meth:`LoudnessReport.within` before accepting the asset.

    Raises:
        MediaError: The input is missing, empty, corrupt, or silent.
        EngineError: ffmpeg is missing or timed out.
    """
    src, dst = Path(src), Path(dst)
    info = ff.probe(src)
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

    result, (out_i, out_tp, out_lra) = encode(target.i, target.tp)
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
    )
