"""ffmpeg command lines for loudness at speech speed: several measurements per decode, one verified encode.

:mod:`engines.ffmpeg` builds one graph per run with ffmpeg-python; the graphs here split one decoded
input into several branches (``asplit``), which ffmpeg-python can express but whose meters it cannot
label, so they are written as ``-filter_complex`` strings from the same conditioning steps
(:func:`engines.ffmpeg.condition_steps`). Every run still goes through :mod:`subprocess` with a
timeout and ``-nostdin``.

* :func:`measure_variants` measures N gain/limiter variants of one input with ``ebur128``: one decode
  per process, the branches split over ``processes`` concurrent processes (two cores: two processes).
* :func:`encode_verified` encodes once and measures what it encoded while it encodes: the ``tee``
  muxer writes the MP3 file and the same MP3 frames to a pipe that a second ffmpeg decodes and
  meters. The file holds exactly those frames (plus the header the muxer rewrites at the end, which
  carries the gapless trim of the encoder delay), so the measurement is the encoded file's.
* :func:`encoder_gain_db` calibrates the encoder's own level change once per process: libmp3lame
  scales its input by 0.95 (-0.45 dB) at 160 kb/s and below at 44.1 kHz, and by other amounts
  elsewhere, so a normaliser that aims at the PCM lands short on the file.

Failures reading or decoding an input raise :class:`MediaError`; a missing binary or a timeout raises
:class:`EngineError`.
"""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engines.errors import EngineError, MediaError, stderr_tail
from engines.ffmpeg import DEFAULT_TIMEOUT_S, Conditioning, _binary, _check_file, _file_arg, condition_steps

_GLOBAL = ("-hide_banner", "-nostdin", "-nostats")
_NUMBER = r"(-?inf|-?\d+(?:\.\d+)?)"
_SUMMARY = re.compile(r"\[Parsed_ebur128_(\d+) @ [^\]]*\] Summary:(.*?)(?=\[Parsed_ebur128_\d+ @|\Z)", re.DOTALL)
_INTEGRATED = re.compile(rf"I:\s+{_NUMBER} LUFS\s+Threshold:\s+{_NUMBER} LUFS")
_RANGE = re.compile(rf"LRA:\s+{_NUMBER} LU\b")
_PEAK = re.compile(rf"Peak:\s+{_NUMBER} dBFS")
_RMS = re.compile(rf"RMS level dB:\s+{_NUMBER}")
_TIME = re.compile(r"\btime=(\d+):(\d\d):(\d\d(?:\.\d+)?)")
# Bit-exact, untagged MP3: same input -> same bytes (assets are content-addressed).
_MP3_EXACT = ("-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact")
_CALIBRATION_TONE_RMS_DB = 20 * math.log10(0.125 / math.sqrt(2))  # lavfi sine: amplitude 1/8


@dataclass(frozen=True)
class R128:
    """One ``ebur128`` summary.

    Attributes:
        i: Integrated loudness (LUFS); -70.0 for silence.
        threshold: The relative gate of the integrated measurement (LUFS), loudnorm's ``input_thresh``.
        lra: Loudness range (LU).
        peak: True peak (dBTP) or sample peak (dBFS), as asked; ``-inf`` for digital silence.
        duration_s: Length of the measured audio from ffmpeg's final report (10 ms resolution).
    """

    i: float
    threshold: float
    lra: float
    peak: float
    duration_s: float


def filter_chain(prep: Conditioning, post_gain_db: float = 0.0, resample_to: int | None = None) -> str:
    """The conditioning as a filter-chain string, then a make-up gain and a resampler if asked."""
    steps = [*condition_steps(prep)]
    if post_gain_db:
        steps.append(("volume", {"volume": f"{post_gain_db:.2f}dB"}))
    if resample_to:
        steps.append(("aresample", {"osr": str(resample_to)}))
    parts = [name + "=" + ":".join(f"{k}={v}" for k, v in options.items()) for name, options in steps]
    return ",".join(parts) or "anull"


def _meter(true_peak: bool) -> str:
    # framelog=verbose keeps the per-100 ms lines out of stderr; the summary is still printed.
    return f"ebur128=peak={'true' if true_peak else 'sample'}:framelog=verbose"


def parse_summaries(stderr: str, count: int, what: str) -> list[R128]:
    """Read ``count`` ebur128 summaries from ffmpeg's stderr, in the order the meters appear in the graph.

    Raises:
        MediaError: fewer summaries, or a summary without the integrated, range or peak values.
    """
    times = _TIME.findall(stderr)
    duration_s = int(times[-1][0]) * 3600 + int(times[-1][1]) * 60 + float(times[-1][2]) if times else 0.0
    found: dict[int, R128] = {}
    for index, body in _SUMMARY.findall(stderr):
        integrated, lra, peak = _INTEGRATED.search(body), _RANGE.search(body), _PEAK.search(body)
        if integrated and lra and peak:
            found[int(index)] = R128(float(integrated.group(1)), float(integrated.group(2)),
                                     float(lra.group(1)), float(peak.group(1)), duration_s)
    if len(found) != count:
        raise MediaError(f"{what}: {len(found)} of {count} loudness summaries in ffmpeg output: "
                         f"{stderr_tail(stderr)}")
    return [found[k] for k in sorted(found)]


def _variant_args(src: Path, preps: list[Conditioning], true_peaks: list[bool]) -> list[str]:
    count = len(preps)
    head = f"[0:a]asplit={count}" + "".join(f"[s{k}]" for k in range(count)) + ";" if count > 1 else ""
    branches = []
    for k, (prep, true_peak) in enumerate(zip(preps, true_peaks, strict=True)):
        source = f"[s{k}]" if count > 1 else "[0:a]"
        branches.append(f"{source}{filter_chain(prep)},{_meter(true_peak)}[m{k}]")
    args = [_binary("ffmpeg"), *_GLOBAL, "-i", _file_arg(src), "-filter_complex", head + ";".join(branches)]
    for k in range(count):
        args += ["-map", f"[m{k}]", "-f", "null", "-"]
    return args


def measure_variants(
    src: Path,
    preps: list[Conditioning],
    *,
    true_peak: bool | list[bool] = True,
    processes: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[R128]:
    """Measure several conditionings of one input, decoding it once per process.

    Args:
        src: Input media.
        preps: One conditioning per variant (resampling, downmix, gain, limiter).
        true_peak: Report true peak (4x oversampled, slower) rather than sample peak; one flag for every
            variant, or one per variant.
        processes: Split the variants over this many concurrent ffmpeg processes.
        timeout_s: Seconds before ffmpeg is killed.

    Returns:
        One :class:`R128` per conditioning, in the order given.

    Raises:
        MediaError: ffmpeg could not decode the file.
        EngineError: ffmpeg is missing or timed out.
    """
    src = Path(src)
    _check_file(src)
    if not preps:
        return []
    peaks = list(true_peak) if isinstance(true_peak, list) else [true_peak] * len(preps)
    split = max(1, min(processes, len(preps)))
    groups = [preps[k::split] for k in range(split)]
    what = f"loudness measurement of {src.name}"
    procs = [subprocess.Popen(_variant_args(src, group, peaks[k::split]), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for k, group in enumerate(groups)]
    try:
        outputs = [_finish(proc, what, timeout_s) for proc in procs]
    finally:
        for proc in procs:
            _kill(proc)
    results: list[R128 | None] = [None] * len(preps)
    for k, (group, stderr) in enumerate(zip(groups, outputs, strict=True)):
        for j, summary in enumerate(parse_summaries(stderr, len(group), what)):
            results[k + j * len(groups)] = summary
    return [r for r in results if r is not None]


def _finish(proc: subprocess.Popen[bytes], what: str, timeout_s: float) -> str:
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise EngineError(f"{what}: ffmpeg timed out after {timeout_s:.0f} s") from None
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        if "matches no streams" in stderr:
            raise MediaError(f"{what}: no audio stream")
        raise MediaError(f"{what} failed (exit {proc.returncode}): {stderr_tail(stderr)}")
    return stderr


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _tee_slave(path: Path) -> str:
    # The tee muxer splits on '|' and reads '[...]' as options; escape them in the file name.
    name = _file_arg(path)
    for char in "\\|[]":
        name = name.replace(char, "\\" + char)
    return name


def encode_verified(
    src: Path,
    dst: Path,
    *,
    prep: Conditioning,
    post_gain_db: float,
    sample_rate: int,
    channels: int,
    bitrate: str,
    trim_to_s: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> R128:
    """Condition, apply a make-up gain and encode a byte-deterministic MP3, metering the encoded frames.

    The encoder writes the file and, through the ``tee`` muxer, the same frames to a second ffmpeg
    that decodes them and runs ``ebur128=peak=true`` while the encode goes on. The output goes to a
    temporary file next to ``dst`` and is moved into place only when both processes succeed.

    Args:
        src: Input media.
        dst: Output MP3 path (replaced atomically).
        prep: Conditioning (channels, gain, limiter) as measured by :func:`measure_variants`.
        post_gain_db: Gain after the conditioning.
        sample_rate: Output rate; the resampler comes last, so a conditioning without a rate is
            measured and limited at the input's own rate (half the work for 22.05 kHz speech).
        channels: Output channel count.
        bitrate: libmp3lame bitrate such as ``"128k"``.
        trim_to_s: Cut the output to this duration.
        timeout_s: Seconds before either process is killed.

    Returns:
        The encoded audio's loudness, true peak and range.

    Raises:
        MediaError: ffmpeg failed to decode the input or the encoded stream.
        EngineError: ffmpeg is missing or timed out.
    """
    src, dst = Path(src), Path(dst)
    _check_file(src)
    chain = filter_chain(prep, post_gain_db, resample_to=sample_rate)
    if trim_to_s:
        chain += f",atrim=duration={trim_to_s:.6f}"
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial")
    encode = [_binary("ffmpeg"), *_GLOBAL, "-y", "-i", _file_arg(src), "-map", "0:a", "-af", chain,
              "-c:a", "libmp3lame", "-b:a", bitrate, "-ar", str(sample_rate), "-ac", str(channels), *_MP3_EXACT,
              "-f", "tee", f"[f=mp3]{_tee_slave(tmp)}|[f=mp3]pipe:1"]
    meter = [_binary("ffmpeg"), *_GLOBAL, "-f", "mp3", "-i", "pipe:0", "-af", _meter(True), "-f", "null", "-"]
    what = f"loudness normalisation of {src.name}"
    # The encoder's stderr goes to a file: nobody reads it until the end, and a pipe could fill up.
    with tempfile.TemporaryFile() as enc_err:
        enc = subprocess.Popen(encode, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=enc_err)
        try:
            assert enc.stdout is not None
            ver = subprocess.Popen(meter, stdin=enc.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            enc.stdout.close()  # the meter holds the only read end now: the encoder sees EPIPE if it dies
            try:
                meter_out = ver.communicate(timeout=timeout_s)[1].decode("utf-8", "replace")
                code = enc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise EngineError(f"{what}: ffmpeg timed out after {timeout_s:.0f} s") from None
            finally:
                _kill(ver)
            if code != 0:  # the encoder's error names the cause; the meter then only saw a short stream
                enc_err.seek(0)
                raise MediaError(f"{what} failed (exit {code}): {stderr_tail(enc_err.read())}")
            if ver.returncode != 0:
                raise MediaError(f"{what}: the encoded audio does not decode (exit {ver.returncode}): "
                                 f"{stderr_tail(meter_out)}")
            result = parse_summaries(meter_out, 1, f"{what} (check of the encoded audio)")[0]
            os.replace(tmp, dst)
        finally:
            _kill(enc)
            tmp.unlink(missing_ok=True)
    return result


@functools.lru_cache(maxsize=16)
def encoder_gain_db(sample_rate: int, channels: int, bitrate: str, timeout_s: float = 60.0) -> float:
    """The level change libmp3lame makes at these settings (dB; about -0.45 at 128 kb/s, 44.1 kHz).

    Measured once per process on a 2 s 997 Hz tone encoded to a temporary file (so the decoder trims
    the encoder delay) and read back with ``astats``; a pure tone's RMS is known exactly.
    """
    with tempfile.TemporaryDirectory(prefix="bantin-lame-") as tmp_name:
        mp3 = Path(tmp_name) / "tone.mp3"
        tone = f"sine=frequency=997:sample_rate={sample_rate}:duration=2"
        encode = [_binary("ffmpeg"), *_GLOBAL, "-f", "lavfi", "-i", tone, "-c:a", "libmp3lame", "-b:a", bitrate,
                  "-ar", str(sample_rate), "-ac", str(channels), "-f", "mp3", _file_arg(mp3)]
        _run_checked(encode, "encoder calibration", timeout_s)
        stats = [_binary("ffmpeg"), *_GLOBAL, "-i", _file_arg(mp3), "-af",
                 "astats=measure_perchannel=none:measure_overall=RMS_level", "-f", "null", "-"]
        stderr = _run_checked(stats, "encoder calibration", timeout_s)
    found = _RMS.search(stderr)
    if found is None:
        raise EngineError(f"encoder calibration: no RMS level in ffmpeg output: {stderr_tail(stderr)}")
    return round(float(found.group(1)) - _CALIBRATION_TONE_RMS_DB, 3)


def _run_checked(args: list[str], what: str, timeout_s: float) -> str:
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return _finish(proc, what, timeout_s)
    finally:
        _kill(proc)
