"""Thin, typed wrapper around the ffmpeg and ffprobe binaries.

This is the only module in the project that imports ``ffmpeg`` (ffmpeg-python 0.2.0, unmaintained
since 2019). It is used solely to build command lines; every run goes through :func:`subprocess.run`
here, with a timeout, ``-nostdin`` and a checked return code, so swapping the builder for another
library (or plain lists) touches this file only.

Failures while reading or decoding a file raise :class:`MediaError` (permanent for that input); a
missing binary or a timeout raises :class:`EngineError` (an operator or a retry can fix it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg  # ffmpeg-python: command-line builder only, see module docstring

from engines.errors import EngineError, MediaError, stderr_tail

DEFAULT_TIMEOUT_S = 600.0
# Pass-1 values that pass 2 feeds back to loudnorm (measured_I, measured_TP, ... and offset).
_LOUDNORM_KEYS = ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")
_JSON_BLOCK = re.compile(r"\{\s*\"input_i\".*?\}", re.DOTALL)
_SUMMARY_VALUE = re.compile(r"^\s*(I|LRA|Peak):\s+(-?inf|-?\d+(?:\.\d+)?)\s", re.MULTILINE)


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe reports about the first audio stream of a file."""

    duration_s: float
    sample_rate: int
    channels: int
    codec: str


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise EngineError(f"{name} not found on PATH: install ffmpeg: apt-get install ffmpeg")
    return found


def _file_arg(path: Path) -> str:
    # The "file:" protocol prefix stops ffmpeg reading a name such as "-x.mp3" as an option or
    # "http:..." / "concat:..." as another protocol.
    return "file:" + str(Path(path).resolve())


def _run(args: list[str], *, what: str, timeout_s: float) -> str:
    """Run a command; return its stderr (where ffmpeg prints measurements)."""
    try:
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what}: {Path(args[0]).name} timed out after {timeout_s:.0f} s") from None
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise MediaError(f"{what} failed (exit {proc.returncode}): {stderr_tail(stderr)}")
    return stderr


def _compile(stream: Any) -> list[str]:
    args: list[str] = stream.compile(cmd=_binary("ffmpeg"))
    # Global options go first: ffmpeg-python appends them at the end, where some versions warn.
    return [args[0], "-hide_banner", "-nostdin", "-nostats", *args[1:]]


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes)")


def probe(path: Path, *, timeout_s: float = 60.0) -> MediaInfo:
    """Describe the first audio stream of a media file.

    Runs the same ffprobe command as ``ffmpeg.probe`` but through :func:`subprocess.run`, because
    ffmpeg-python 0.2.0's ``probe`` has no timeout.

    Args:
        path: The file to inspect.
        timeout_s: Seconds before ffprobe is killed.

    Returns:
        Duration, sample rate, channel count and codec name.

    Raises:
        MediaError: The file is missing, empty, not media, has no audio stream or no duration.
        EngineError: ffprobe is not installed or timed out.
    """
    path = Path(path)
    _check_file(path)
    args = [_binary("ffprobe"), "-v", "error", "-show_format", "-show_streams", "-of", "json"]
    args.append(_file_arg(path))
    try:
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise EngineError(f"probe {path.name}: ffprobe timed out after {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise MediaError(f"{path}: not a readable media file: {stderr_tail(proc.stderr)}")
    data = json.loads(proc.stdout.decode("utf-8", "replace") or "{}")
    audio = next((s for s in data.get("streams", []) if s.get("codec_type") == "audio"), None)
    if audio is None:
        raise MediaError(f"{path}: no audio stream")
    duration = audio.get("duration") or data.get("format", {}).get("duration")
    try:
        duration_s = float(duration)
    except (TypeError, ValueError):
        duration_s = 0.0
    if not duration_s > 0:
        raise MediaError(f"{path}: audio has no duration (truncated or corrupt)")
    return MediaInfo(
        duration_s=duration_s,
        sample_rate=int(audio.get("sample_rate", 0)),
        channels=int(audio.get("channels", 0)),
        codec=str(audio.get("codec_name", "unknown")),
    )


@dataclass(frozen=True)
class Conditioning:
    """Steps applied before loudnorm, identically in pass 1 and pass 2.

    Attributes:
        sample_rate: Resample to this rate (use the output rate).
        channels: Convert to this many channels (use the output count), so pass 1 measures the
            signal pass 2 will actually normalise.
        pad_to_s: Pad with silence to this length (for clips shorter than loudnorm's 3 s window).
        gain_db: Gain applied before the limiter.
        limit_dbfs: Ceiling of a look-ahead peak limiter; None for no limiter.
    """

    sample_rate: int | None = None
    channels: int | None = None
    pad_to_s: float | None = None
    gain_db: float = 0.0
    limit_dbfs: float | None = None


def condition_steps(prep: Conditioning) -> list[tuple[str, dict[str, str]]]:
    """The filters of a conditioning, in order, as ``(filter name, options)``.

    Both command-line builders use this list (the ffmpeg-python graphs below and the hand-written
    multi-branch graphs of :mod:`engines.ffmpeg_loudness`), so every pass conditions identically.
    """
    steps: list[tuple[str, dict[str, str]]] = []
    if prep.sample_rate:
        steps.append(("aresample", {"osr": str(prep.sample_rate)}))
    if prep.channels:
        # Converting to double *inside* the graph makes the downmix identical in both passes:
        # swresample scales a downmix differently for integer and float targets, and the encoder's
        # sample format would otherwise decide which one pass 2 gets.
        layout = {1: "mono", 2: "stereo"}.get(prep.channels, f"{prep.channels}c")
        steps.append(("aformat", {"sample_fmts": "dbl", "channel_layouts": layout}))
    if prep.pad_to_s:
        steps.append(("apad", {"whole_dur": f"{prep.pad_to_s:.3f}"}))
    if prep.gain_db:
        steps.append(("volume", {"volume": f"{prep.gain_db:.2f}dB"}))
    if prep.limit_dbfs is not None:
        limit = min(max(10 ** (prep.limit_dbfs / 20), 0.0625), 1.0)  # alimiter's accepted range
        # level=false: no automatic make-up gain (loudnorm sets the level); latency=true keeps the
        # output aligned with the input so trimming back to the original length stays exact.
        steps.append(("alimiter", {"limit": f"{limit:.5f}", "level": "false", "latency": "true"}))
    return steps


def _conditioned(src: Path, prep: Conditioning) -> Any:
    stream = ffmpeg.input(_file_arg(src)).audio
    for name, options in condition_steps(prep):
        stream = stream.filter(name, **options)
    return stream


def _loudnorm_json(stderr: str, what: str) -> dict[str, Any]:
    blocks = _JSON_BLOCK.findall(stderr)
    if not blocks:
        raise MediaError(f"{what}: no loudnorm measurement in ffmpeg output: {stderr_tail(stderr)}")
    raw: dict[str, str] = json.loads(blocks[-1])
    out: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            out[key] = float(value)  # loudnorm prints numbers as strings, "-inf" for silence
        except ValueError:
            out[key] = value
    return out


def loudnorm_measure(
    path: Path,
    *,
    i: float,
    tp: float,
    lra: float,
    prep: Conditioning = Conditioning(),
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Loudnorm pass 1: measure a file against a target.

    Args:
        path: Input media.
        i: Target integrated loudness (LUFS).
        tp: Target true peak (dBTP).
        lra: Target loudness range (LU).
        prep: Conditioning before loudnorm; pass the same one to :func:`loudnorm_apply`.
        timeout_s: Seconds before ffmpeg is killed.

    Returns:
        loudnorm's JSON with numbers as floats (``input_i`` is ``-inf`` for digital silence).

    Raises:
        MediaError: ffmpeg could not decode the file.
        EngineError: ffmpeg is missing or timed out.
    """
    stream = _conditioned(Path(path), prep).filter(
        "loudnorm", I=f"{i:.2f}", TP=f"{tp:.2f}", LRA=f"{lra:.2f}", print_format="json"
    )
    args = _compile(stream.output("-", format="null"))
    what = f"loudness measurement of {Path(path).name}"
    return _loudnorm_json(_run(args, what=what, timeout_s=timeout_s), what)


def loudnorm_apply(
    src: Path,
    dst: Path,
    *,
    i: float,
    tp: float,
    lra: float,
    measured: dict[str, Any],
    sample_rate: int,
    bitrate: str,
    channels: int,
    prep: Conditioning | None = None,
    trim_to_s: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Loudnorm pass 2: normalise with pass-1 values and encode a byte-deterministic MP3.

    ``linear=true`` is requested; ffmpeg silently falls back to dynamic mode when the input's LRA
    exceeds the target or the gain would break the true-peak ceiling, so read
    ``normalization_type`` from the result. The output is written to a temporary file next to
    ``dst`` and moved into place only on success.

    Args:
        src: Input media.
        dst: Output MP3 path (replaced atomically).
        i: Target integrated loudness (LUFS).
        tp: Target true peak (dBTP).
        lra: Target loudness range (LU).
        measured: The dict returned by :func:`loudnorm_measure` for the same preparation.
        sample_rate: Output rate; loudnorm upsamples to 192 kHz internally, so this is explicit.
        bitrate: libmp3lame bitrate such as ``"128k"``.
        channels: Output channel count.
        prep: The conditioning given to :func:`loudnorm_measure`; by default only the conversion
            to ``sample_rate`` and ``channels``.
        trim_to_s: Cut the output back to this duration (the original length when padding).
        timeout_s: Seconds before ffmpeg is killed.

    Returns:
        loudnorm's pass-2 JSON (numbers as floats) including ``normalization_type``.

    Raises:
        MediaError: ffmpeg failed on the input or ``measured`` lacks a key.
        EngineError: ffmpeg is missing or timed out.
    """
    src, dst = Path(src), Path(dst)
    missing = [key for key in _LOUDNORM_KEYS if key not in measured]
    if missing:
        raise MediaError(f"loudnorm pass 2 for {src.name}: measurement lacks {', '.join(missing)}")
    prep = prep or Conditioning(sample_rate=sample_rate, channels=channels)
    stream = _conditioned(src, prep).filter(
        "loudnorm",
        I=f"{i:.2f}",
        TP=f"{tp:.2f}",
        LRA=f"{lra:.2f}",
        measured_I=f"{measured['input_i']:.2f}",
        measured_TP=f"{measured['input_tp']:.2f}",
        measured_LRA=f"{measured['input_lra']:.2f}",
        measured_thresh=f"{measured['input_thresh']:.2f}",
        offset=f"{measured['target_offset']:.2f}",
        linear="true",
        print_format="json",
    )
    stream = stream.filter("aresample", sample_rate)
    if trim_to_s:
        stream = stream.filter("atrim", duration=f"{trim_to_s:.6f}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial")
    out = stream.output(
        _file_arg(tmp),
        format="mp3",
        acodec="libmp3lame",
        audio_bitrate=bitrate,
        ar=sample_rate,
        ac=channels,
        # No tags, no encoder/version strings, no timestamps: same input -> same bytes, because
        # assets are content-addressed and a rerun must produce the same key.
        map_metadata=-1,
        fflags="+bitexact",
        **{"flags:a": "+bitexact"},
    ).overwrite_output()
    what = f"loudness normalisation of {src.name}"
    try:
        result = _loudnorm_json(_run(_compile(out), what=what, timeout_s=timeout_s), what)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return result


def ebur128(path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[float, float, float]:
    """Measure a file with ffmpeg's EBU R128 meter (``ebur128=peak=true``).

    Args:
        path: Media to measure (typically an encoded output, to verify it).
        timeout_s: Seconds before ffmpeg is killed.

    Returns:
        ``(integrated_lufs, true_peak_dbtp, lra_lu)`` from the Summary block, to 0.1 precision.
        Silence reads as ``(-70.0, -inf, 0.0)``.

    Raises:
        MediaError: ffmpeg could not decode the file or printed no summary.
        EngineError: ffmpeg is missing or timed out.
    """
    path = Path(path)
    # framelog=verbose keeps the per-100 ms lines out of stderr; the summary is still printed.
    stream = ffmpeg.input(_file_arg(path)).audio.filter("ebur128", peak="true", framelog="verbose")
    what = f"loudness check of {path.name}"
    stderr = _run(_compile(stream.output("-", format="null")), what=what, timeout_s=timeout_s)
    at = stderr.rfind("Summary:")
    values = dict(_SUMMARY_VALUE.findall(stderr[at:])) if at >= 0 else {}
    if not {"I", "LRA", "Peak"} <= values.keys():
        raise MediaError(f"{what}: no EBU R128 summary in ffmpeg output: {stderr_tail(stderr)}")
    return float(values["I"]), float(values["Peak"]), float(values["LRA"])


def pcm_stream(
    path: Path, *, sample_rate: int = 16000, block_samples: int = 16000 * 30, timeout_s: float = 6 * 3600.0
) -> Iterator[bytes]:
    """Decode the first audio stream to mono signed 16-bit little-endian PCM, block by block.

    The decoder runs as a child process writing to a pipe, so memory stays at one block however long
    the recording is (a 3-hour file is 345 MB as 16 kHz int16). Closing the generator early kills it.

    Args:
        path: Input media.
        sample_rate: Output rate (16 kHz for Whisper).
        block_samples: Samples per yielded block (the last one may be shorter).
        timeout_s: Seconds of wall time before the decoder is killed.

    Yields:
        ``bytes`` of ``2 * block_samples`` length (the last block may be shorter).

    Raises:
        MediaError: ffmpeg failed to decode the file.
        EngineError: ffmpeg is missing or ran past ``timeout_s``.
    """
    path = Path(path)
    _check_file(path)
    stream = ffmpeg.input(_file_arg(path)).audio.output("pipe:", format="s16le", acodec="pcm_s16le",
                                                        ac=1, ar=sample_rate)
    args = [*_compile(stream), "-v", "error"]
    deadline = time.monotonic() + timeout_s
    # stderr goes to a file, not a pipe: a chatty decoder could otherwise fill the pipe and deadlock.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        try:
            while block := proc.stdout.read(2 * block_samples):
                yield block
                if time.monotonic() > deadline:
                    raise EngineError(f"decoding {path.name}: ffmpeg ran past {timeout_s:.0f} s")
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise EngineError(f"decoding {path.name}: ffmpeg timed out after {timeout_s:.0f} s") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        if code != 0:
            err.seek(0)
            raise MediaError(f"decoding {path.name} failed (exit {code}): {stderr_tail(err.read())}")


def _wav_output(stream: Any, tmp: Path, *, sample_rate: int, channels: int) -> Any:
    # 16-bit PCM WAV, bit-exact and untagged: intermediate files for programmes are hashed like assets.
    return stream.output(_file_arg(tmp), format="wav", acodec="pcm_s16le", ar=sample_rate, ac=channels,
                         map_metadata=-1, fflags="+bitexact", **{"flags:a": "+bitexact"}).overwrite_output()


def tone_sequence(
    dst: Path,
    notes: list[tuple[float, float]],
    *,
    sample_rate: int = 44100,
    level_db: float = -12.0,
    fade_s: float = 0.02,
    timeout_s: float = 60.0,
) -> Path:
    """Write a sequence of sine tones (e.g. a two-note chime) as a mono 16-bit WAV.

    Each note fades in over ``fade_s`` and decays exponentially-looking (a linear fade over its second half),
    so it sounds like a bell rather than a click-bounded beep.

    Args:
        dst: Output WAV path (replaced atomically).
        notes: ``(frequency_hz, seconds)`` per note, played one after the other.
        sample_rate: Output rate.
        level_db: Level of each tone (dBFS); loudness normalisation of the programme sets the final level.
        fade_s: Fade-in length.
        timeout_s: Seconds before ffmpeg is killed.

    Returns:
        ``dst``.

    Raises:
        MediaError: ``notes`` is empty or a note is not positive; ffmpeg failed.
        EngineError: ffmpeg is missing or timed out.
    """
    if not notes or any(f <= 0 or d <= 0 for f, d in notes):
        raise MediaError("a tone sequence needs notes with positive frequency and length")
    dst = Path(dst)
    parts = []
    for freq, dur in notes:
        tone = ffmpeg.input(f"sine=frequency={freq:.2f}:sample_rate={sample_rate}:duration={dur:.3f}", f="lavfi")
        tone = (tone.audio.filter("volume", f"{level_db:.1f}dB")
                .filter("afade", t="in", st=0, d=f"{min(fade_s, dur / 4):.3f}")
                .filter("afade", t="out", st=f"{dur / 2:.3f}", d=f"{dur / 2:.3f}"))
        parts.append(tone)
    stream = ffmpeg.concat(*parts, v=0, a=1) if len(parts) > 1 else parts[0]
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial")
    try:
        _run(_compile(_wav_output(stream, tmp, sample_rate=sample_rate, channels=1)), what="tone sequence",
             timeout_s=timeout_s)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def concat_with_gaps(
    inputs: list[Path],
    dst: Path,
    *,
    gap_s: float | list[float],
    sample_rate: int = 44100,
    channels: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """Join audio files in order with silence between them, as one 16-bit WAV.

    Every input is resampled and converted to the output layout first, so files of different rates and
    channel counts (an MP3 bulletin, a WAV chime) join cleanly.

    Args:
        inputs: Files to join, in play order (any format ffmpeg reads).
        dst: Output WAV path (replaced atomically).
        gap_s: Silence between consecutive inputs (0 for none), or one value per join
            (``len(inputs) - 1`` of them).
        sample_rate: Output rate.
        channels: Output channel count.
        timeout_s: Seconds before ffmpeg is killed.

    Returns:
        ``dst``.

    Raises:
        MediaError: no input, a missing or empty input, a negative gap or a wrong number of gaps, or
            ffmpeg failed to decode.
        EngineError: ffmpeg is missing or timed out.
    """
    if not inputs:
        raise MediaError("nothing to join: no input files")
    gaps = [float(gap_s)] * (len(inputs) - 1) if isinstance(gap_s, (int, float)) else [float(g) for g in gap_s]
    if len(gaps) != len(inputs) - 1:
        raise MediaError(f"{len(inputs)} inputs need {len(inputs) - 1} gap(s), got {len(gaps)}")
    if any(g < 0 for g in gaps):
        raise MediaError(f"gaps must not be negative, got {gaps}")
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
    # ffmpeg-python merges identical graph nodes, so a file used twice (a chime opening and closing the
    # programme) is decoded once and split; the gap is padding after each part but the last.
    uses: dict[Path, int] = {}
    for path in inputs:
        _check_file(Path(path))
        uses[Path(path).resolve()] = uses.get(Path(path).resolve(), 0) + 1
    decoded: dict[Path, list[Any]] = {}
    for path, count in uses.items():
        stream = (ffmpeg.input(_file_arg(path)).audio.filter("aresample", sample_rate)
                  .filter("aformat", sample_fmts="s16", channel_layouts=layout))
        split = stream.filter_multi_output("asplit", count) if count > 1 else None
        decoded[path] = [split.stream(i) for i in range(count)] if split is not None else [stream]
    parts: list[Any] = []
    for n, path in enumerate(inputs):
        part = decoded[Path(path).resolve()].pop(0)
        if n < len(gaps) and gaps[n] > 0:
            part = part.filter("apad", pad_dur=f"{gaps[n]:.3f}")
        parts.append(part)
    stream = ffmpeg.concat(*parts, v=0, a=1) if len(parts) > 1 else parts[0]
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial")
    try:
        _run(_compile(_wav_output(stream, tmp, sample_rate=sample_rate, channels=channels)),
             what=f"joining {len(inputs)} file(s)", timeout_s=timeout_s)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst
