"""Loudness normalisation against real ffmpeg, checked with an independent meter (pyloudnorm)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engines import ffmpeg as ff
from engines import ffmpeg_loudness as fl
from engines.audio import LoudnessReport, LoudnessTarget, normalize_to_mp3
from engines.errors import EngineError, MediaError
from engines.tts import EspeakTTS
from tests.engines.conftest import integrated_lufs, true_peak_dbtp

pytestmark = pytest.mark.integration

Decoder = Callable[[Path], tuple[np.ndarray, int]]


@pytest.fixture(scope="module")
def normalised(
    quiet_wav: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[float, tuple[Path, LoudnessReport]]:
    """The quiet fixture normalised once per target, shared by the checks below."""
    out = tmp_path_factory.mktemp("normalised")
    results = {}
    for target_i in (-16.0, -23.0):
        dst = out / f"quiet{int(target_i)}.mp3"
        results[target_i] = (dst, normalize_to_mp3(quiet_wav, dst, target=LoudnessTarget(i=target_i)))
    return results


@pytest.mark.parametrize("target_i", [-16.0, -23.0])
def test_output_lands_on_target_by_independent_meter(
    normalised: dict, decoded: Decoder, target_i: float
) -> None:
    path, report = normalised[target_i]
    samples, rate = decoded(path)
    assert integrated_lufs(samples, rate) == pytest.approx(target_i, abs=0.5)
    assert report.output_i == pytest.approx(target_i, abs=0.5)
    assert report.within(0.5)


@pytest.mark.parametrize("target_i", [-16.0, -23.0])
def test_true_peak_stays_under_ceiling(normalised: dict, decoded: Decoder, target_i: float) -> None:
    path, report = normalised[target_i]
    samples, _ = decoded(path)
    assert true_peak_dbtp(samples) <= report.target.tp + 0.5
    assert report.output_tp <= report.target.tp + 0.5


def test_input_measurement_is_reported(normalised: dict) -> None:
    _, report = normalised[-16.0]
    assert report.input_i == pytest.approx(-33.0, abs=1.5)  # the fixture is ~17 dB below target
    assert report.normalization_type in ("linear", "dynamic")
    assert report.duration_s == pytest.approx(12.0, abs=0.1)


def test_default_output_is_44100_hz_mono_mp3(normalised: dict, decoded: Decoder) -> None:
    path, report = normalised[-16.0]
    stream = _ffprobe_audio(path)
    assert (stream["codec_name"], int(stream["sample_rate"]), int(stream["channels"])) == ("mp3", 44100, 1)
    samples, rate = decoded(path)
    assert (rate, samples.shape[1]) == (44100, 1)
    assert (report.sample_rate, report.bitrate) == (44100, "128k")


def test_rate_channels_and_bitrate_are_as_asked(hot_wav: Path, tmp_path: Path, decoded: Decoder) -> None:
    dst = tmp_path / "hot.mp3"
    report = normalize_to_mp3(hot_wav, dst, target=LoudnessTarget(i=-23.0), sample_rate=48000, bitrate="96k",
                              channels=2)
    stream = _ffprobe_audio(dst)
    assert (int(stream["sample_rate"]), int(stream["channels"])) == (48000, 2)
    assert int(stream["bit_rate"]) == 96000
    samples, rate = decoded(dst)
    assert integrated_lufs(samples, rate) == pytest.approx(-23.0, abs=0.5)  # turned down, not up
    assert report.input_i > -20


def test_same_input_gives_identical_bytes(quiet_wav: Path, normalised: dict, tmp_path: Path) -> None:
    first, _ = normalised[-16.0]
    again = tmp_path / "again.mp3"
    normalize_to_mp3(quiet_wav, again, target=LoudnessTarget(i=-16.0))
    assert again.read_bytes() == first.read_bytes()


def test_rerun_replaces_output_in_place(quiet_wav: Path, normalised: dict, tmp_path: Path) -> None:
    dst = tmp_path / "out.mp3"
    dst.write_bytes(b"stale")
    normalize_to_mp3(quiet_wav, dst, target=LoudnessTarget(i=-16.0))
    assert dst.read_bytes() == normalised[-16.0][0].read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp3"]  # no partial file left behind


def test_peaky_tts_speech_lands_on_target(espeak_bin: str, tmp_path: Path, decoded: Decoder) -> None:
    # espeak-ng output peaks at about +0.1 dBTP at -19 LUFS: one linear gain cannot reach -16
    # under a -1.5 dBTP ceiling, which is the case the pre-limiter exists for.
    text = ("Ủy ban nhân dân xã thông báo: do ảnh hưởng của cơn bão số ba, từ chiều nay trời có mưa to "
            "và gió mạnh. Đề nghị bà con chằng chống nhà cửa, không ra đồng và không đi thuyền trên sông.")
    speech = EspeakTTS().synthesize(text, "vi", tmp_path / "speech.wav")
    report = normalize_to_mp3(speech.path, tmp_path / "speech.mp3", target=LoudnessTarget())
    samples, rate = decoded(tmp_path / "speech.mp3")
    assert integrated_lufs(samples, rate) == pytest.approx(-16.0, abs=0.5)
    assert true_peak_dbtp(samples) <= -1.0
    assert report.limiter_db > 0


def test_short_clip_is_not_left_far_off_target(espeak_bin: str, tmp_path: Path, decoded: Decoder) -> None:
    # ffmpeg 5.1 gives clips under 3 s a peak-capped linear gain: this 1.3 s phrase came out at
    # -35.5 LUFS for a -16 target. Padding brings it into the normal path; the tolerance is wider
    # because 1.3 s leaves few 400 ms gating blocks for the meters to agree on.
    speech = EspeakTTS().synthesize("Thông báo khẩn.", "vi", tmp_path / "short.wav")
    assert speech.duration_s < 3
    report = normalize_to_mp3(speech.path, tmp_path / "short.mp3", target=LoudnessTarget())
    samples, rate = decoded(tmp_path / "short.mp3")
    assert integrated_lufs(samples, rate) == pytest.approx(-16.0, abs=1.0)
    assert report.duration_s == pytest.approx(speech.duration_s, abs=0.1)  # padding trimmed off again


def test_short_peaky_clip_is_padded_into_the_normal_path(
    ffmpeg_bin: str, tmp_path: Path, decoded: Decoder
) -> None:
    # 2 s of clicks over a faint tone: too peaky for the limiter to fix, so loudnorm's short-input
    # path would apply a peak-capped gain and land ~30 LU low (measured: -46.6 LUFS without padding).
    clip = tmp_path / "clicks.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "aevalsrc='if(lt(mod(n,2205),4),0.9,0.01*sin(2*PI*300*t))':s=44100:d=2", str(clip)],
        check=True, capture_output=True, timeout=60,
    )
    report = normalize_to_mp3(clip, tmp_path / "clicks.mp3", target=LoudnessTarget())
    samples, rate = decoded(tmp_path / "clicks.mp3")
    assert integrated_lufs(samples, rate) == pytest.approx(-16.0, abs=1.0)
    assert report.duration_s == pytest.approx(2.0, abs=0.1)


def test_silent_input_is_refused(silent_wav: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="audio is silent"):
        normalize_to_mp3(silent_wav, tmp_path / "out.mp3", target=LoudnessTarget())
    assert not (tmp_path / "out.mp3").exists()


def test_empty_file_is_refused(ffmpeg_bin: str, empty_mp3: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="empty"):
        normalize_to_mp3(empty_mp3, tmp_path / "out.mp3", target=LoudnessTarget())


def test_corrupt_file_is_refused(ffmpeg_bin: str, corrupt_mp3: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="corrupt.mp3"):
        normalize_to_mp3(corrupt_mp3, tmp_path / "out.mp3", target=LoudnessTarget())
    assert not (tmp_path / "out.mp3").exists()


def test_missing_file_is_refused(ffmpeg_bin: str, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        normalize_to_mp3(tmp_path / "nope.wav", tmp_path / "out.mp3", target=LoudnessTarget())


def test_media_errors_are_engine_errors_with_one_line_messages(ffmpeg_bin: str, corrupt_mp3: Path) -> None:
    with pytest.raises(EngineError) as caught:
        ff.probe(corrupt_mp3)
    assert "\n" not in str(caught.value)


def test_ebur128_agrees_with_independent_meter(quiet_wav: Path, decoded: Decoder) -> None:
    i, tp, lra = ff.ebur128(quiet_wav)
    samples, rate = decoded(quiet_wav)
    assert i == pytest.approx(integrated_lufs(samples, rate), abs=0.3)
    assert tp == pytest.approx(true_peak_dbtp(samples), abs=0.5)
    assert lra > 0


def test_probe_describes_the_fixture(quiet_wav: Path) -> None:
    info = ff.probe(quiet_wav)
    assert (info.sample_rate, info.channels, info.codec) == (48000, 2, "pcm_s16le")
    assert info.duration_s == pytest.approx(12.0, abs=0.01)


def test_report_metadata_is_json_safe_and_rounded(normalised: dict) -> None:
    meta = normalised[-16.0][1].to_meta()
    decoded_meta = json.loads(json.dumps(meta, allow_nan=False))
    assert decoded_meta["target"] == {"i": -16.0, "tp": -1.5, "lra": 11.0}
    assert decoded_meta["output_i"] == round(decoded_meta["output_i"], 2)
    expected = {"input_i", "output_tp", "normalization_type", "sample_rate", "bitrate", "duration_s"}
    assert expected <= meta.keys()


def test_within_uses_both_loudness_and_peak() -> None:
    target = LoudnessTarget()
    base = dict(input_i=-30.0, input_tp=-10.0, input_lra=3.0, output_i=-16.2, output_tp=-1.6,
                output_lra=3.0, normalization_type="linear", duration_s=10.0, sample_rate=44100,
                bitrate="128k", target=target)
    assert LoudnessReport(**base).within(0.5)
    assert not LoudnessReport(**{**base, "output_i": -16.7}).within(0.5)
    assert not LoudnessReport(**{**base, "output_tp": -0.5}).within(0.5)
    assert LoudnessReport(**{**base, "output_i": -16.7}).within(1.0)


@pytest.fixture(scope="module")
def espeak_speech(
    espeak_bin: str, ffmpeg_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, LoudnessReport]:
    """About 9 s of espeak-ng speech (peaky: needs the limiter) normalised once for the checks below."""
    out = tmp_path_factory.mktemp("speech")
    text = ("Ủy ban nhân dân xã thông báo: do ảnh hưởng của cơn bão số ba, từ chiều nay trời có mưa to "
            "và gió mạnh. Đề nghị bà con chằng chống nhà cửa, không ra đồng và không đi thuyền trên sông.")
    speech = EspeakTTS().synthesize(text, "vi", out / "speech.wav").path
    return speech, out / "speech.mp3", normalize_to_mp3(speech, out / "speech.mp3", target=LoudnessTarget())


def test_speech_is_encoded_once_by_measured_gain(espeak_speech: tuple[Path, Path, LoudnessReport]) -> None:
    _, _, report = espeak_speech
    assert (report.encodes, report.method, report.normalization_type) == (1, "gain", "linear")
    assert 5.0 < report.limiter_db < 18.0
    assert report.output_i == pytest.approx(-16.0, abs=0.2)  # on target without a corrective encode


def test_check_on_the_encoded_stream_is_the_files_measurement(
    espeak_speech: tuple[Path, Path, LoudnessReport]
) -> None:
    # The encoded frames are metered while they are written; metering the finished file must agree.
    _, mp3, report = espeak_speech
    integrated, peak, _ = ff.ebur128(mp3)
    assert report.output_i == pytest.approx(integrated, abs=0.1)
    assert report.output_tp == pytest.approx(peak, abs=0.1)


def test_output_keeps_the_input_length(espeak_speech: tuple[Path, Path, LoudnessReport], decoded: Decoder) -> None:
    wav, mp3, report = espeak_speech
    source, source_rate = decoded(wav)
    output, rate = decoded(mp3)
    assert len(output) / rate == pytest.approx(len(source) / source_rate, abs=0.03)
    assert report.duration_s == pytest.approx(len(source) / source_rate, abs=0.03)


def test_wide_loudness_range_goes_through_loudnorm(ffmpeg_bin: str, tmp_path: Path, decoded: Decoder) -> None:
    # A 20 dB swell: a gain cannot bring the range under 11 LU, loudnorm's dynamic mode does.
    src = tmp_path / "swell.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "anoisesrc=color=pink:duration=20:amplitude=0.2:seed=5", "-af",
         "volume='0.05+0.045*sin(2*PI*t/10)':eval=frame", "-ar", "44100", str(src)],
        check=True, capture_output=True, timeout=60,
    )
    assert ff.ebur128(src)[2] > 11.0
    report = normalize_to_mp3(src, tmp_path / "swell.mp3", target=LoudnessTarget())
    samples, rate = decoded(tmp_path / "swell.mp3")
    assert report.method == "loudnorm"
    assert integrated_lufs(samples, rate) == pytest.approx(-16.0, abs=0.5)


def test_input_without_audio_is_refused(ffmpeg_bin: str, tmp_path: Path) -> None:
    video = tmp_path / "video.mkv"
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=duration=1:size=64x64", "-c:v", "mpeg4", str(video)],
                   check=True, capture_output=True, timeout=60)
    with pytest.raises(MediaError, match="no audio stream"):
        normalize_to_mp3(video, tmp_path / "out.mp3", target=LoudnessTarget())
    assert not (tmp_path / "out.mp3").exists()


def test_libmp3lame_level_change_is_calibrated(ffmpeg_bin: str) -> None:
    # libmp3lame scales its input by 0.95 (-0.45 dB) at 160 kb/s and below at 44.1 kHz; not at 256 kb/s.
    assert fl.encoder_gain_db(44100, 1, "128k") == pytest.approx(-0.45, abs=0.02)
    assert fl.encoder_gain_db(44100, 1, "256k") == pytest.approx(0.0, abs=0.02)


_SUMMARIES = """[Parsed_ebur128_5 @ 0x1] Summary:

  Integrated loudness:
    I:         -23.2 LUFS
    Threshold: -43.3 LUFS

  Loudness range:
    LRA:         1.6 LU
    Threshold:  -53.2 LUFS

  Sample peak:
    Peak:      -10.8 dBFS
[Parsed_ebur128_2 @ 0x2] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS

  True peak:
    Peak:       -inf dBFS
size=N/A time=00:01:02.50 bitrate=N/A speed= 300x
"""


def test_summaries_are_read_in_graph_order() -> None:
    silent, limited = fl.parse_summaries(_SUMMARIES, 2, "test")
    assert (limited.i, limited.threshold, limited.lra, limited.peak) == (-23.2, -43.3, 1.6, -10.8)
    assert (silent.i, silent.peak, silent.duration_s) == (-70.0, float("-inf"), 62.5)
    with pytest.raises(MediaError, match="2 of 3 loudness summaries"):
        fl.parse_summaries(_SUMMARIES, 3, "test")


def _ffprobe_audio(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         check=True, capture_output=True, timeout=30).stdout
    return next(s for s in json.loads(out)["streams"] if s["codec_type"] == "audio")


def test_speech_marked_peaky_measures_its_limiter_cuts_in_the_first_decode(
    espeak_speech: tuple[Path, Path, LoudnessReport], tmp_path: Path, decoded: Decoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wav, _, told_nothing = espeak_speech
    calls: list[int] = []
    real = fl.measure_variants

    def counted(src: Path, preps: list[ff.Conditioning], **kwargs: object) -> list[fl.R128]:
        calls.append(len(preps))
        return real(src, preps, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fl, "measure_variants", counted)
    report = normalize_to_mp3(wav, tmp_path / "peaky.mp3", target=LoudnessTarget(), peaky=True)
    assert calls == [6]  # one measurement: the input and five limiter cuts, no second decode
    assert (report.encodes, report.method) == (1, "gain")
    assert report.limiter_db == pytest.approx(told_nothing.limiter_db, abs=1.0)  # about the same cut
    samples, rate = decoded(tmp_path / "peaky.mp3")
    assert integrated_lufs(samples, rate) == pytest.approx(-16.0, abs=0.5)
    assert true_peak_dbtp(samples) <= -1.0

    calls.clear()  # the same input not marked: measured, then its limiter cuts in a second decode
    normalize_to_mp3(wav, tmp_path / "plain.mp3", target=LoudnessTarget())
    assert calls == [1, 5]


def test_a_quiet_input_marked_peaky_gets_the_cut_it_would_have_got(
        quiet_wav: Path, normalised: dict, tmp_path: Path, decoded: Decoder) -> None:
    # The speculative cuts are set under full scale; a quiet input's peak is far below it, so they cut less
    # than their nominal values and the one it needs is found again by the second decode, or between them.
    report = normalize_to_mp3(quiet_wav, tmp_path / "quiet.mp3", target=LoudnessTarget(), peaky=True)
    unmarked = normalised[-16.0][1]
    assert report.encodes == 1 and report.limiter_db == pytest.approx(unmarked.limiter_db, abs=0.5)
    samples, rate = decoded(tmp_path / "quiet.mp3")
    assert integrated_lufs(samples, rate) == pytest.approx(-16.0, abs=0.5)
