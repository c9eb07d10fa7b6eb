"""Speech recognition speed and accuracy: every backend on the same natural speech, plus faster-whisper's levers.

Part 1 (engines): faster-whisper (the bundled whisper-base, CTranslate2 int8), openai-whisper and
transformers Whisper (the *same* weights converted by engines/whisper_convert.py), and viet-asr when it is
installed, each through ``engines.asr.transcribe`` on the same audio. Part 2 (levers): faster-whisper
settings (batch size, beam size, timestamps, chunk length, threads) against the current default.

Audio: the six ``vieneu`` clips of natural Vietnamese joined with 0.7 s pauses (27.7 s), and that sequence
five times over (138 s, like a short bulletin). Models are loaded (and converted) before timing. Each row
reports wall time, real-time factor (RTF = processing time / audio time; lower is faster), the ratio to the
first row of its table (measured in the same process, so machine load affects both), and the character
error rate, so a speed-up that costs accuracy shows. The issue's goal: faster-whisper RTF <= 0.15 on 2 cores.

Usage: .venv/bin/python benchmarks/asr.py [--repeats 1] [--engines all|faster-whisper,viet-asr,...]
           [--levers] [--long-all]
Needs: pip install --no-deps vieneu==3.8.3 (the speech clips); ffmpeg; the ml extra for openai-whisper and
transformers; viet-asr==0.1.0.dev11 for viet-asr.
"""

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
import unicodedata
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines import asr, registry, whisper_base  # noqa: E402
from engines.registry import ModelEntry, Task  # noqa: E402

ENGINES = ("faster-whisper", "openai-whisper", "transformers-whisper", "viet-asr")


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


def timed(repeats: int, run) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    """Median wall time, median CPU time of the whole process (all threads), and the last text."""
    walls, cpus, text = [], [], ""
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        text = run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), text


def print_table(title: str, rows: list[tuple[str, str, float, float, float, str]]) -> None:
    """RTF is wall / audio. cpuRTF/2 = CPU seconds / (2 x audio seconds): what RTF would be on two idle cores
    with perfect thread scaling (a lower bound), useful when other processes share the machine."""
    print(f"\n{title}")
    print(f"{'input':<20} {'engine / setting':<44} {'audio s':>8} {'wall s':>7} {'RTF':>6} {'cpuRTF/2':>9} "
          f"{'x first':>8} {'CER':>6}")
    base: dict[str, float] = {}
    for label, name, seconds, wall, cpu, error in rows:
        base.setdefault(label, wall)
        print(f"{label:<20} {name:<44} {seconds:>8.1f} {wall:>7.2f} {wall / seconds:>6.3f} {cpu / 2 / seconds:>9.3f} "
              f"{wall / base[label]:>8.2f} {error:>6}", flush=True)


def prepare(engines: list[str], tmp: Path, cache: Path) -> dict[str, ModelEntry]:
    """Registry entries for each engine; the converted models are written (and timed) here."""
    from engines import whisper_convert

    t0 = time.perf_counter()
    ct2 = whisper_base.assemble(cache)
    fw = registry.load_registry(tmp / "models.toml", cache).pick(Task.ASR, "vi")
    registry.require(fw)
    print(f"whisper-base assembled and verified in {time.perf_counter() - t0:.1f} s")
    entries = {"faster-whisper": fw}

    def entry(backend: str, path: Path | None) -> ModelEntry:
        return ModelEntry(name=f"whisper-base ({backend})" if path else backend, task=Task.ASR, languages=("*",),
                          backend=backend, path=path)

    for backend in engines:
        t0 = time.perf_counter()
        if backend == "openai-whisper":
            entries[backend] = entry(backend, whisper_convert.to_openai_whisper(ct2, tmp / "base.pt"))
        elif backend == "transformers-whisper":
            entries[backend] = entry(backend, whisper_convert.to_transformers(ct2, tmp / "base-hf"))
        elif backend == "viet-asr":
            if importlib.util.find_spec("vietasr") is None:
                print("viet-asr is not installed: skipped (pip install viet-asr==0.1.0.dev11)")
                continue
            entries[backend] = entry(backend, None)
        else:
            continue
        print(f"{backend}: converted/prepared in {time.perf_counter() - t0:.1f} s")
    return entries


def warm(entry: ModelEntry, path: Path) -> None:
    """Load the model (and torch) outside the timed runs."""
    t0 = time.perf_counter()
    asr.transcribe(path, language="vi", model=entry)
    print(f"{entry.backend}: loaded and warmed in {time.perf_counter() - t0:.1f} s")


LEVERS: list[tuple[str, asr.FasterWhisperOptions]] = [
    ("default: batched bs=8, beam 5, timestamps", asr.FasterWhisperOptions()),
    ("sequential, beam 5", asr.FasterWhisperOptions(batch_size=0)),
    ("batched bs=8, beam 1", asr.FasterWhisperOptions(beam_size=1)),
    ("batched bs=8, beam 1, without_timestamps", asr.FasterWhisperOptions(beam_size=1, without_timestamps=True)),
    ("batched bs=16, beam 1", asr.FasterWhisperOptions(batch_size=16, beam_size=1)),
    ("batched bs=4, beam 1", asr.FasterWhisperOptions(batch_size=4, beam_size=1)),
    ("batched bs=8, beam 1, chunk 15 s", asr.FasterWhisperOptions(beam_size=1, chunk_length=15)),
    ("batched bs=8, beam 1, cpu_threads=1", asr.FasterWhisperOptions(beam_size=1, cpu_threads=1)),
    ("batched bs=8, beam 1, cpu_threads=4", asr.FasterWhisperOptions(beam_size=1, cpu_threads=4)),
    ("sequential, beam 1", asr.FasterWhisperOptions(batch_size=0, beam_size=1)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per cell; the median is reported")
    parser.add_argument("--engines", default="all", help=f"comma list of {', '.join(ENGINES)}, or all")
    parser.add_argument("--levers", action="store_true", help="also sweep faster-whisper settings on 138 s")
    parser.add_argument("--long-all", action="store_true",
                        help="run openai-whisper and transformers on the 138 s input too (minutes)")
    args = parser.parse_args()
    engines = list(ENGINES) if args.engines == "all" else args.engines.split(",")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        entries = prepare(engines, tmp, tmp / "models")
        inputs = make_inputs(tmp)
        short = next(iter(inputs.values()))[0]
        for backend in engines:
            if backend in entries:
                warm(entries[backend], short)
        rows = []
        for label, (path, reference, seconds) in inputs.items():
            for backend in engines:
                slow = backend in ("openai-whisper", "transformers-whisper") and seconds > 60 and not args.long_all
                if backend not in entries or slow:
                    continue
                entry = entries[backend]
                wall, cpu, text = timed(args.repeats,
                                        lambda e=entry, p=path: asr.transcribe(p, language="vi", model=e).text)
                rows.append((label, backend, seconds, wall, cpu, f"{cer(reference, text):.3f}"))
        print_table("Engines (whisper-base weights in all three Whisper stacks; viet-asr its own model)", rows)
        if args.levers:
            path, reference, seconds = inputs["6 clips x5, 138 s"]
            lever_rows = []
            fw = entries["faster-whisper"]
            for name, options in LEVERS:
                asr.transcribe(short, language="vi", model=fw, options=replace(options))  # load this setting
                wall, cpu, text = timed(args.repeats, lambda o=options: asr.transcribe(path, language="vi", model=fw,
                                                                                        options=o).text)
                lever_rows.append(("6 clips x5, 138 s", name, seconds, wall, cpu, f"{cer(reference, text):.3f}"))
                print(f"  {name}: wall {wall:.1f} s, CPU {cpu:.1f} s", flush=True)
            print_table("faster-whisper levers (int8, VAD on)", lever_rows)


if __name__ == "__main__":
    main()
