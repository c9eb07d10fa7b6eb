"""Live sessions: how long after the browser's first audio the encoder has audio for the mount, with the live
loudness chain (``engines.icecast.live_loudness_chain``: speechnorm, a fixed gain, a 5 ms limiter) against
the single-pass ``loudnorm`` chain it replaced (3 s of look-ahead).

Both encoders read the same WebM/Opus voice (espeak Vietnamese at a quiet phone level, as MediaRecorder sends
it) in slices of 250 ms written every 250 ms, and write MP3 as ``live_command`` does; a run's time is the wall
time from the first slice written to the first 4 KiB of MP3 read (past the ID3 header ffmpeg writes at once).
Runs alternate between the chains so machine load hits both alike. The table also gives each output's
loudness (ebur128 on the MP3) against the -16 LUFS target.

Usage: .venv/bin/python benchmarks/live_latency.py [--repeats 5]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines.ffmpeg import ebur128  # noqa: E402
from engines.icecast import Encoding, live_loudness_chain  # noqa: E402

SLICE_S = 0.25
FIRST_AUDIO_BYTES = 4096
SPEECH = ("Kính thưa bà con nhân dân. Ủy ban nhân dân xã thông báo lịch tiêm chủng cho trẻ em vào sáng thứ bảy "
          "tuần này tại trạm y tế xã. Đề nghị các gia đình đưa trẻ đến đúng giờ và mang theo sổ tiêm chủng.")


def make_voice(tmp: Path) -> tuple[Path, float]:
    raw = tmp / "voice.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(raw), SPEECH], check=True, capture_output=True)
    webm = tmp / "voice.webm"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-af", "volume=-12dB", "-ar", "48000",
                    "-c:a", "libopus", "-b:a", "32k", "-f", "webm", str(webm)], check=True)
    seconds = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                    str(webm)], check=True, capture_output=True, text=True).stdout)
    return webm, seconds


def first_audio_s(chain: str, webm: bytes, seconds: float, out: Path) -> float:
    """Feed ``webm`` in real-time slices to an encoder with ``chain``; seconds to its first audio out."""
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-fflags", "+nobuffer",
            "-probesize", "4096", "-analyzeduration", "0", "-i", "pipe:0", "-af", f"{chain},aresample=44100",
            "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3", "pipe:1"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    stdout = proc.stdout
    first: list[float] = []
    start = time.monotonic()

    def read() -> None:
        got = bytearray()
        while chunk := os.read(stdout.fileno(), 65536):
            got += chunk
            if not first and len(got) >= FIRST_AUDIO_BYTES:
                first.append(time.monotonic() - start)
        out.write_bytes(bytes(got))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    slices = max(1, round(seconds / SLICE_S))
    step = len(webm) // slices + 1
    for n in range(slices):
        proc.stdin.write(webm[n * step:(n + 1) * step])
        proc.stdin.flush()
        time.sleep(SLICE_S)
    proc.stdin.close()
    proc.wait()
    reader.join()
    return first[0] if first else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    enc = Encoding()
    chains = {"loudnorm (before)": f"loudnorm=I={enc.loudness_i}:TP={enc.loudness_tp}:LRA={enc.loudness_lra}",
              "live chain": live_loudness_chain(enc)}
    with tempfile.TemporaryDirectory(prefix="bantin-bench-") as tmp_name:
        tmp = Path(tmp_name)
        webm, seconds = make_voice(tmp)
        data = webm.read_bytes()
        runs: dict[str, list[float]] = {k: [] for k in chains}
        for _ in range(args.repeats):
            for label, chain in chains.items():
                runs[label].append(first_audio_s(chain, data, seconds, tmp / f"{label[:4]}.mp3"))
        loud = {label: ebur128(tmp / f"{label[:4]}.mp3")[0] for label in chains}  # each chain's last output
    base = statistics.median(runs["loudnorm (before)"])
    print(f"{seconds:.1f} s voice at a quiet phone level, {SLICE_S * 1000:.0f} ms slices in real time; "
          f"median of {args.repeats} alternating runs; load {os.getloadavg()[0]:.1f}")
    head = f"{'chain':<20} | {'first audio s':>13} {'min':>5} {'max':>5} | {'LUFS':>6} | {'× before':>8}"
    print(head)
    print("-" * len(head))
    for label, values in runs.items():
        med = statistics.median(values)
        print(f"{label:<20} | {med:>13.2f} {min(values):>5.2f} {max(values):>5.2f} | {loud[label]:>6.1f} | "
              f"{med / base:>8.2f}")


if __name__ == "__main__":
    main()
