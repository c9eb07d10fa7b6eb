"""Loudness normalisation: bantin's two-pass pipeline against a single-pass loudnorm baseline.

Both run in this process on the same inputs. The table reports time as a ratio to the baseline and
how far each output lands from the target (measured with ffmpeg's ebur128 on the encoded MP3). The
question it answers: what does hitting the target within ±0.5 LU cost over the one-pass shortcut?

Usage: .venv/bin/python benchmarks/loudness.py [--repeats 3]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines import audio, tts  # noqa: E402
from engines.ffmpeg import ebur128  # noqa: E402

TARGET = audio.LoudnessTarget(i=-16.0, tp=-1.5, lra=11.0)


def make_inputs(tmp: Path) -> dict[str, Path]:
    sample = resources.files("cli").joinpath("samples", "thong-bao-tiem-chung.txt").read_text(encoding="utf-8")
    speech = tts.EspeakTTS().synthesize(sample, "vi", tmp / "speech.wav").path
    # A quiet, dynamic 3-minute programme: sine plus pink noise with a slowly varying gain.
    mixed = tmp / "programme.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=330:duration=180",
         "-f", "lavfi", "-i", "anoisesrc=color=pink:duration=180:amplitude=0.05",
         "-filter_complex", "[0][1]amix=inputs=2,volume='0.05+0.04*sin(t/7)':eval=frame",
         "-ar", "48000", "-ac", "2", str(mixed)], check=True)
    return {"espeak speech (vi)": speech, "3-min dynamic programme": mixed}


def single_pass(src: Path, dst: Path) -> None:
    """The common shortcut: one loudnorm pass with no measurement (the baseline)."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-af",
         f"loudnorm=I={TARGET.i}:TP={TARGET.tp}:LRA={TARGET.lra}", "-ar", "44100", "-ac", "1",
         "-c:a", "libmp3lame", "-b:a", "128k", str(dst)], check=True)


def two_pass(src: Path, dst: Path) -> None:
    audio.normalize_to_mp3(src, dst, target=TARGET)


def measure(fn, src: Path, dst: Path, repeats: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(src, dst)
        times.append(time.perf_counter() - start)
    integrated, _tp, _lra = ebur128(dst)
    return statistics.median(times), integrated - TARGET.i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bantin-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rows = []
        for label, src in make_inputs(tmp).items():
            base_t, base_dev = measure(single_pass, src, tmp / "base.mp3", args.repeats)
            ours_t, ours_dev = measure(two_pass, src, tmp / "ours.mp3", args.repeats)
            rows.append((label, base_dev, ours_t / base_t, ours_dev))
    print(f"target {TARGET.i} LUFS, {TARGET.tp} dBTP; median of {args.repeats} runs; time relative to the baseline")
    print(f"{'input':<26} {'single-pass ΔLU':>16} {'two-pass time ×':>16} {'two-pass ΔLU':>13}")
    for label, base_dev, ratio, ours_dev in rows:
        print(f"{label:<26} {base_dev:>+16.2f} {ratio:>16.2f} {ours_dev:>+13.2f}")


if __name__ == "__main__":
    main()
