"""Loudness normalisation: bantin's measure-gain-encode chain against a plain two-pass ffmpeg loudnorm.

Both run in this process on the same inputs, interleaved run by run so machine load hits both alike.
The baseline is what a script would do: loudnorm pass 1 (measure), pass 2 (apply with the measured
values, ``linear=true``) encoding the MP3; it does not verify its output. bantin measures, limits
peaky speech, encodes once and meters the encoded file. The table reports wall time (median), CPU
seconds of the ffmpeg children (less sensitive to other load on the machine), times real time, the
ratio to the baseline, how far each output lands from the target (ebur128 on the encoded MP3), and the
machine's 1-minute load average when the input's runs ended.

The espeak speech is normalised twice: as production does for synthetic speech (``peaky``: the limiter
cuts measured in the first decode) and as for an unmarked input (measure, then the cuts in a second decode).

Usage: .venv/bin/python benchmarks/loudness.py [--repeats 5] [--speech-only]
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines import audio, tts  # noqa: E402
from engines import ffmpeg_loudness as fl  # noqa: E402
from engines.ffmpeg import ebur128, probe  # noqa: E402

TARGET = audio.LoudnessTarget(i=-16.0, tp=-1.5, lra=11.0)
GOAL_60S_S = 1.5  # issue 16: 60 s of speech normalised, encoded and verified in under 1.5 s
_JSON = re.compile(r"\{\s*\"input_i\".*?\}", re.DOTALL)


def make_inputs(tmp: Path) -> dict[str, Path]:
    sample = resources.files("cli").joinpath("samples", "thong-bao-tiem-chung.txt").read_text(encoding="utf-8")
    long = tts.EspeakTTS().synthesize(" ".join([sample] * 3), "vi", tmp / "long.wav").path
    speech = tmp / "speech60.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(long), "-t", "60", str(speech)], check=True)
    # A recording-like input: 48 kHz stereo tone and noise, 20 dB under target, modest crest.
    recording = tmp / "recording.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:duration=60:sample_rate=48000",
         "-f", "lavfi", "-i", "anoisesrc=color=pink:duration=60:amplitude=0.03:sample_rate=48000",
         "-filter_complex", "[0][1]amix=inputs=2,volume='0.06+0.02*sin(t/3)':eval=frame",
         "-ar", "48000", "-ac", "2", str(recording)], check=True)
    # A quiet, dynamic 3-minute programme (loudness range above the target: loudnorm's dynamic mode).
    mixed = tmp / "programme.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=180",
         "-f", "lavfi", "-i", "anoisesrc=color=pink:duration=180:amplitude=0.05",
         "-filter_complex", "[0][1]amix=inputs=2,volume='0.05+0.04*sin(t/7)':eval=frame",
         "-ar", "48000", "-ac", "2", str(mixed)], check=True)
    return {"espeak speech 60 s (vi)": speech, "espeak speech 60 s, not marked synthetic": speech,
            "recording 60 s 48k stereo": recording, "dynamic programme 3 min": mixed}


def plain_two_pass(src: Path, dst: Path) -> dict[str, object]:
    """The baseline: loudnorm measure, then loudnorm apply with the measurement, encoding the MP3."""
    spec = f"loudnorm=I={TARGET.i}:TP={TARGET.tp}:LRA={TARGET.lra}"
    first = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-i", str(src), "-af",
                            f"{spec}:print_format=json", "-f", "null", "-"], check=True, capture_output=True)
    m = json.loads(_JSON.findall(first.stderr.decode())[-1])
    second = (f"{spec}:measured_I={m['input_i']}:measured_TP={m['input_tp']}:measured_LRA={m['input_lra']}"
              f":measured_thresh={m['input_thresh']}:offset={m['target_offset']}:linear=true")
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y", "-i", str(src), "-af", second,
                    "-ar", "44100", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k", str(dst)],
                   check=True, capture_output=True)
    return {}


def bantin(src: Path, dst: Path, peaky: bool = False) -> dict[str, object]:
    report = audio.normalize_to_mp3(src, dst, target=TARGET, peaky=peaky)
    return {"encodes": report.encodes, "method": report.method, "limiter_db": report.limiter_db}


def bantin_tts(src: Path, dst: Path) -> dict[str, object]:
    """As production normalises synthetic speech: told it is peaky (limiter cuts measured in the first decode)."""
    return bantin(src, dst, peaky=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[Path, Path], dict[str, object]], src: Path, dst: Path) -> tuple[float, float, dict]:
    cpu, start = _children_cpu(), time.perf_counter()
    info = fn(src, dst)
    return time.perf_counter() - start, _children_cpu() - cpu, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--speech-only", action="store_true", help="only the 60 s speech input")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bantin-bench-") as tmp_name:
        tmp = Path(tmp_name)
        inputs = make_inputs(tmp)
        if args.speech_only:
            inputs = dict(list(inputs.items())[:2])
        start = time.perf_counter()
        fl.encoder_gain_db(44100, 1, "128k")  # once per worker process; reported, not in the runs
        calibration_s = time.perf_counter() - start
        rows = []
        for label, src in inputs.items():
            seconds = probe(src).duration_s
            runs: dict[str, list[tuple[float, float]]] = {"base": [], "ours": []}
            info: dict[str, object] = {}
            for _ in range(args.repeats):
                wall, cpu, _ = timed(plain_two_pass, src, tmp / "base.mp3")
                runs["base"].append((wall, cpu))
                wall, cpu, info = timed(bantin_tts if label.startswith("espeak speech 60 s (vi)") else bantin,
                                        src, tmp / "ours.mp3")
                runs["ours"].append((wall, cpu))
            med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in runs.items()}
            dev = {k: ebur128(tmp / f"{k}.mp3")[0] - TARGET.i for k in runs}
            rows.append((label, seconds, med, dev, info, os.getloadavg()[0]))
    print(f"target {TARGET.i} LUFS, {TARGET.tp} dBTP; median of {args.repeats} interleaved runs; "
          f"encoder calibration {calibration_s:.2f} s once per process (not in the runs)")
    head = (f"{'input':<40} {'audio s':>7} | {'2-pass s':>8} {'cpu s':>6} {'x rt':>5} {'ΔLU':>5} | "
            f"{'bantin s':>8} {'cpu s':>6} {'x rt':>5} {'ΔLU':>5} {'enc':>3} {'path':>8} | {'time ×':>6} {'cpu ×':>6} "
            f"{'load':>5}")
    print(head)
    print("-" * len(head))
    for label, seconds, med, dev, info, avg in rows:
        (bw, bc), (ow, oc) = med["base"], med["ours"]
        print(f"{label:<40} {seconds:>7.1f} | {bw:>8.2f} {bc:>6.2f} {seconds / bw:>5.1f} {dev['base']:>+5.1f} | "
              f"{ow:>8.2f} {oc:>6.2f} {seconds / ow:>5.1f} {dev['ours']:>+5.1f} {info['encodes']:>3} "
              f"{info['method']:>8} | {ow / bw:>6.2f} {oc / bc:>6.2f} {avg:>5.1f}")
    speech_label, speech_s, speech_med = rows[0][0], rows[0][1], rows[0][2]["ours"][0]
    verdict = "meets" if speech_med / speech_s * 60 < GOAL_60S_S else "misses"
    print(f"{speech_label}: {speech_med / speech_s * 60:.2f} s per 60 s of speech ({speech_s / speech_med:.0f}x real "
          f"time) {verdict} the goal of {GOAL_60S_S} s; time × and cpu × are bantin / baseline (below 1: faster)")


if __name__ == "__main__":
    main()
