"""Speech synthesis speed: real-time factor of every TTS backend available here, on the same Vietnamese text.

Rows:
* espeak-ng (the embedded default; real voice);
* every Piper / MMS-TTS voice in the model registry (``--registry``, default the settings' file): real voices;
* ``--synthetic`` (default on) adds two stand-ins, because no Piper or MMS weights ship in any registry
  package: an MMS-sized VITS (transformers ``VitsConfig()`` defaults, the MMS-TTS architecture, ~36 M
  parameters) with random weights, and the fake Piper voice from the tests (an ONNX sine generator: it
  measures Piper's phonemisation and I/O overhead only). Random VITS weights give random phoneme
  durations, so its RTF is indicative of the architecture's cost per output second, not of a real voice.

Each row: wall time of ``synthesize`` (model loaded beforehand), seconds of audio produced, RTF = wall /
audio (lower is faster), and the ratio to espeak-ng measured in the same process.

Usage: .venv/bin/python benchmarks/tts.py [--repeats 3] [--no-synthetic] [--registry models.toml]
"""

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines import voices  # noqa: E402
from engines.registry import ModelEntry, Task, load_registry  # noqa: E402
from engines.tts import EspeakTTS, SpeechEngine  # noqa: E402

TEXT = ("Kính thưa bà con nhân dân. Ủy ban nhân dân xã Tân Lập thông báo lịch tiêm chủng cho trẻ em dưới năm tuổi "
        "vào sáng thứ bảy tuần này tại trạm y tế xã. Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ "
        "tiêm chủng. Trân trọng thông báo.")


def mms_sized_vits(out: Path) -> Path:
    """The MMS-TTS architecture (transformers' VitsConfig defaults) with random weights and a Vietnamese alphabet."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    chars = sorted(set(TEXT.lower()) | set("abcdefghijklmnopqrstuvwxyz "))
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps({"<pad>": 0, **{c: i + 1 for i, c in enumerate(chars)}},
                                               ensure_ascii=False), encoding="utf-8")
    tok = VitsTokenizer(str(out / "vocab.json"), language="vie", add_blank=True, normalize=True, phonemize=False)
    torch.manual_seed(0)
    VitsModel(VitsConfig(vocab_size=len(chars) + 1, sampling_rate=16000)).eval().save_pretrained(out)
    tok.save_pretrained(out)
    return out


def engines_to_run(tmp: Path, synthetic: bool, registry_path: Path | None) -> list[tuple[str, SpeechEngine]]:
    found: list[tuple[str, SpeechEngine]] = [("espeak-ng (vi)", EspeakTTS())]
    reg = load_registry(registry_path, None) if registry_path else load_registry()
    for code, entry in voices.voices(reg):
        if entry.backend in ("piper", "mms-tts") and code in ("vi", "*"):
            found.append((f"{entry.backend}: {entry.name} (registry)", voices.engine_of(entry)))
    if synthetic:
        import importlib.util

        def entry(name: str, backend: str, path: Path) -> ModelEntry:
            return ModelEntry(name=name, task=Task.TTS, languages=("vi",), backend=backend, path=path)

        if importlib.util.find_spec("transformers"):
            path = mms_sized_vits(tmp / "mms")
            found.append(("mms-tts: MMS-sized VITS, random weights", voices.engine_of(entry("mms", "mms-tts", path))))
        if importlib.util.find_spec("piper") and importlib.util.find_spec("onnx"):
            from tests.voices.conftest import build_fake_piper

            path = build_fake_piper(tmp / "piper")
            found.append(("piper: fake ONNX voice (overhead only)", voices.engine_of(entry("fake", "piper", path))))
    return found


def cpu_seconds() -> float:
    """CPU time of this process (all threads) plus finished children (espeak-ng runs as a subprocess)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine; the median is reported")
    parser.add_argument("--no-synthetic", dest="synthetic", action="store_false",
                        help="only real voices (espeak-ng and registry entries)")
    parser.add_argument("--registry", type=Path, default=None, help="model registry TOML (default: settings)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for label, engine in engines_to_run(tmp, args.synthetic, args.registry):
            t0 = time.perf_counter()
            engine.synthesize(TEXT, "vi", tmp / "warm.wav")  # loads the model
            load_s = time.perf_counter() - t0
            walls, cpus, audio_s = [], [], 0.0
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), cpu_seconds()
                audio_s = engine.synthesize(TEXT, "vi", tmp / "out.wav").duration_s
                walls.append(time.perf_counter() - t0)
                cpus.append(cpu_seconds() - c0)
            rows.append((label, engine.version(), load_s, statistics.median(walls), statistics.median(cpus), audio_s))
    print(f"\ntext: {len(TEXT)} characters of Vietnamese; 2-core machine")
    print("RTF = wall / audio; cpuRTF/2 = CPU seconds / (2 x audio): RTF on two idle cores with perfect scaling")
    print(f"{'engine':<44} {'version':<10} {'load+1st s':>10} {'wall s':>7} {'audio s':>8} {'RTF':>6} "
          f"{'cpuRTF/2':>9} {'x espeak':>9}")
    base = rows[0][3] / rows[0][5]
    for label, version, load_s, wall, cpu, audio_s in rows:
        rtf = wall / audio_s
        print(f"{label:<44} {version:<10} {load_s:>10.2f} {wall:>7.3f} {audio_s:>8.2f} {rtf:>6.3f} "
              f"{cpu / 2 / audio_s:>9.3f} {rtf / base:>9.1f}")


if __name__ == "__main__":
    main()
