"""Speech recognition speed: faster-whisper batched over VAD segments against plain sequential decoding.

Both run in this process through ``engines.asr.transcribe`` with the bundled whisper-base (int8, 2 CPU
threads, VAD on), on the same natural Vietnamese speech: the six ``vieneu`` sample clips joined with
0.7 s pauses (27.7 s), and that sequence five times over (138 s, like a short bulletin). The model is
loaded before timing. The table reports wall time, real-time factor (RTF = processing time / audio
time; lower is faster), the ratio to the sequential baseline, and the character error rate, so a speed-up
that costs accuracy shows. The issue's goal is RTF <= 0.15 on 2 cores.

Usage: .venv/bin/python benchmarks/asr.py [--repeats 2] [--batch-sizes 4,8]
Needs: pip install --no-deps vieneu==3.8.3 (the speech clips); ffmpeg.
"""

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
import unicodedata
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines import asr, registry, whisper_base  # noqa: E402


def clips() -> list[tuple[Path, str]]:
    spec = importlib.util.find_spec("vieneu")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("vieneu is not installed: pip install --no-deps vieneu==3.8.3")
    samples = Path(list(spec.submodule_search_locations)[0]) / "assets" / "samples"
    return [(w, w.with_suffix(".txt").read_text(encoding="utf-8").strip()) for w in sorted(samples.glob("*.wav"))]


def make_inputs(tmp: Path) -> dict[str, tuple[Path, str, float]]:
    parts, refs, rate = [], [], 24000
    for wav, text in clips():
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            parts += [np.frombuffer(w.readframes(w.getnframes()), "<i2"), np.zeros(int(0.7 * rate), "<i2")]
        refs.append(text)
    out: dict[str, tuple[Path, str, float]] = {}
    for name, times in (("6 clips, 27.7 s", 1), ("6 clips x5, 138 s", 5)):
        audio = np.concatenate(parts * times)
        path = tmp / f"speech-{times}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(audio.tobytes())
        out[name] = (path, " ".join(refs * times), len(audio) / rate)
    return out


def cer(reference: str, hypothesis: str) -> float:
    def norm(text: str) -> str:
        text = unicodedata.normalize("NFC", text).lower()
        return " ".join("".join(c if c.isalnum() or c.isspace() else " " for c in text).split())

    ref, hyp = norm(reference), norm(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, rc in enumerate(ref, 1):
        cur = [i]
        for j, hc in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc)))
        prev = cur
    return prev[-1] / max(len(ref), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs per cell; the median is reported")
    parser.add_argument("--batch-sizes", default="4,8", help="BatchedInferencePipeline batch sizes to try")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cache = tmp / "models"
        entry = registry.load_registry(tmp / "models.toml", cache).pick(registry.Task.ASR, "vi")
        t0 = time.perf_counter()
        asr.load_whisper(str(whisper_base.assemble(cache)))
        print(f"whisper-base assembled, verified and loaded in {time.perf_counter() - t0:.1f} s")
        variants = [("sequential (baseline)", 0)] + [(f"batched, batch_size={b}", int(b))
                                                      for b in args.batch_sizes.split(",")]
        rows = []
        for label, (path, reference, seconds) in make_inputs(tmp).items():
            base = None
            for name, batch in variants:
                times, text = [], ""
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    text = asr.transcribe(path, language="vi", model=entry, batch_size=batch).text
                    times.append(time.perf_counter() - t0)
                wall = statistics.median(times)
                base = base or wall
                rows.append((label, name, seconds, wall, wall / seconds, wall / base, cer(reference, text)))
    print()
    print(f"{'input':<20} {'decoding':<24} {'audio s':>8} {'wall s':>7} {'RTF':>6} {'x base':>7} {'CER':>6}")
    for label, name, seconds, wall, rtf, ratio, error in rows:
        print(f"{label:<20} {name:<24} {seconds:>8.1f} {wall:>7.2f} {rtf:>6.3f} {ratio:>7.2f} {error:>6.3f}")


if __name__ == "__main__":
    main()
