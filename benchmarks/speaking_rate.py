"""Measure how fast an espeak-ng voice reads Vietnamese scripts, and print its row for prompts/speech/rates.tsv.

Scripts are drawn from the intake corpus (tests/data/intake, cleaned as production cleans them): spans of 1-6
consecutive sentences, and the same spans inside the loudspeaker frame. Each is normalised for speech, spoken
with espeak-ng and measured with ffprobe. The model, ``seconds = syllables / rate + sentence_pause * sentence
ends + clause_pause * clause breaks``, is fitted by least squares on relative error (every script counts the
same, short or long). The table then shows the fitted model's error next to the shipped row's.

Usage: .venv/bin/python benchmarks/speaking_rate.py [--voice vi] [--wpm 140] [--scripts 160] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

import numpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.quality import frame_of, pages  # noqa: E402
from domain.speech import SpeakingRate, count_pauses, count_syllables  # noqa: E402
from engines import ffmpeg, summarize, textnorm  # noqa: E402
from engines.speaking_rate import rate_of  # noqa: E402
from engines.tts import EspeakTTS  # noqa: E402
from services import intake  # noqa: E402


def scripts(count: int, seed: int) -> list[str]:
    """``count`` normalised scripts: half bare spans of sentences, half the same spans framed."""
    rng = random.Random(seed)
    corpus = []
    for _, raw, want_title, _, _ in pages():
        cleaned = intake.clean(raw)
        corpus.append((summarize.split_sentences(cleaned.body), frame_of(cleaned.title or want_title)))
    out = []
    while len(out) < count:
        sentences, (prompt, frame) = rng.choice(corpus)
        n = rng.randint(1, min(6, len(sentences)))
        start = rng.randint(0, len(sentences) - n)
        body = " ".join(sentences[start:start + n])
        out += [textnorm.normalize_for_speech(body), textnorm.normalize_for_speech(prompt.render(body=body, **frame))]
    return out[:count]


def fit(measured: list[tuple[str, float]]) -> SpeakingRate:
    """The model minimising the squared relative error over the measured scripts."""
    rows, target = [], []
    for text, seconds in measured:
        sentences, clauses = count_pauses(text)
        rows.append([count_syllables(text) / seconds, sentences / seconds, clauses / seconds])
        target.append(1.0)
    (per_syllable, sentence, clause), *_ = numpy.linalg.lstsq(numpy.array(rows), numpy.array(target), rcond=None)
    return SpeakingRate(round(1 / per_syllable, 2), round(float(sentence), 2), round(float(clause), 2))


def errors(rate: SpeakingRate, measured: list[tuple[str, float]]) -> list[float]:
    return [(rate.seconds(text) - seconds) / seconds for text, seconds in measured]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", default="vi", help="espeak-ng voice (vi, vi-vn-x-central, vi-vn-x-south)")
    parser.add_argument("--wpm", type=int, default=140, help="espeak-ng words per minute (production: 140)")
    parser.add_argument("--scripts", type=int, default=160)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    voice = EspeakTTS(args.voice, args.wpm)
    measured = []
    with tempfile.TemporaryDirectory(prefix="bantin-rate-") as tmp:
        wav = Path(tmp) / "script.wav"
        for text in scripts(args.scripts, args.seed):
            voice.synthesize(text, "vi", wav)
            measured.append((text, ffmpeg.probe(wav).duration_s))
    fitted = fit(measured)
    shipped = rate_of("espeak-ng", args.voice, words_per_minute=args.wpm)
    print(f"espeak-ng {voice.version()} voice {args.voice} at {args.wpm} wpm: {len(measured)} scripts of "
          f"{min(s for _, s in measured):.1f}-{max(s for _, s in measured):.1f} s (seed {args.seed})")
    print(f"{'model':<34}{'syl/s':>7}{'end s':>7}{'clause s':>9}{'bias %':>8}{'mean |e| %':>11}{'worst %':>9}")
    for label, rate in ((f"shipped ({shipped.backend} {shipped.voice})", shipped.rate), ("fitted", fitted)):
        errs = errors(rate, measured)
        print(f"{label:<34}{rate.syllables_per_second:>7.2f}{rate.sentence_pause_s:>7.2f}{rate.clause_pause_s:>9.2f}"
              f"{100 * statistics.mean(errs):>+8.1f}{100 * statistics.mean(abs(e) for e in errs):>11.1f}"
              f"{100 * max(errs, key=abs):>+9.1f}")
    errs = errors(fitted, measured)
    print("row for prompts/speech/rates.tsv:")
    print("\t".join(["espeak-ng", args.voice, str(args.wpm), f"{fitted.syllables_per_second:.2f}",
                     f"{fitted.sentence_pause_s:.2f}", f"{fitted.clause_pause_s:.2f}",
                     f"corpus {len(measured)} scripts: mean {100 * statistics.mean(abs(e) for e in errs):.1f} %, "
                     f"worst {100 * max(abs(e) for e in errs):.1f} %"]))


if __name__ == "__main__":
    main()
