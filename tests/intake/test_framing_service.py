"""The frame around a script: the area's station opens it, an emergency is announced twice and its key
instruction repeated, and the whole fits the slot."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as cli_app
from domain.errors import InvalidInput
from engines.speaking_rate import speaking_rate
from engines.summarize import speech_seconds
from prompts import load_prompt
from services import framing
from services.runtime import session
from settings import Settings

CORPUS = Path(__file__).parents[1] / "data" / "intake"
FLOOD = "\n".join((CORPUS / "02-lu-song-ba.clean.txt").read_text(encoding="utf-8").split("\n")[1:])
runner = CliRunner()


def frame(announcer: str, urgent: bool) -> dict[str, str]:
    out = dict(opening="Kính thưa bà con nhân dân!", announcer=announcer, closing="Trân trọng thông báo!",
               title="Cảnh báo lũ trên sông Ba, yêu cầu di dời dân vùng trũng trước 17 giờ")
    return {**out, "key": ""} if urgent else out


def test_emergency_frame_says_it_twice_and_repeats_the_order() -> None:
    prompt = load_prompt("loudspeaker_script/urgent", 1)
    values = frame("Đài Truyền thanh xã Ia Mlah", urgent=True)
    settings = Settings(script_seconds=60)
    summary = framing.framed_summary(None, FLOOD, prompt, values, settings)  # type: ignore[arg-type]
    script = prompt.render(body=summary.script, **values)
    lines = script.split("\n")
    assert lines[0] == "Thông báo khẩn! Thông báo khẩn!"
    assert lines[2] == ("Đài Truyền thanh xã Ia Mlah thông báo khẩn: Cảnh báo lũ trên sông Ba, yêu cầu di dời dân "
                        "vùng trũng trước 17 giờ.")
    assert lines[-2] == ("Xin nhắc lại: Ban chỉ huy phòng chống thiên tai xã Ia Mlah yêu cầu các hộ dân ở thôn Plei Oi "
                         "và thôn Bôn Kia di dời người và tài sản đến nơi an toàn trước 17 giờ.")
    assert lines[-2].removeprefix("Xin nhắc lại: ") in summary.script
    # The script fills the slot: at least 95 % of it, or up to 8 % past it when whole sentences leave no choice.
    assert 0.9 * 60 <= speech_seconds(script, rate=speaking_rate(settings)) <= 60 * 1.08


def test_normal_frame_fits_the_slot() -> None:
    prompt = load_prompt("loudspeaker_script", 1)
    values = frame("Đài Truyền thanh xã Ia Mlah", urgent=False)
    settings = Settings(script_seconds=30)
    summary = framing.framed_summary(None, FLOOD, prompt, values, settings)  # type: ignore[arg-type]
    script = prompt.render(body=summary.script, **values)
    assert script.split("\n")[1].startswith("Đài Truyền thanh xã Ia Mlah thông báo: Cảnh báo lũ")
    assert 0.9 * 30 <= speech_seconds(script, rate=speaking_rate(settings)) <= 30 * 1.08




@pytest.mark.integration
def test_station_is_derived_configured_by_an_approver_and_reset(app: Path) -> None:
    with session() as s:
        assert framing.announcer(s, ["29377"]) == "Đài Truyền thanh xã Đa Lộc"
        assert framing.announcer(s, ["29377", "29374"], requesting_unit="UBND huyện") == "UBND huyện"
        with pytest.raises(InvalidInput, match="may not rename"):
            framing.set_station(s, area_code="29377", name="Đài xã", username="demo-editor")
    shown = runner.invoke(cli_app, ["areas", "station", "29377"])
    assert shown.output.strip() == "Đài Truyền thanh xã Đa Lộc (derived from the area name)"
    done = runner.invoke(cli_app, ["areas", "station", "29377", "Đài Truyền thanh - Truyền hình xã Đa Lộc",
                                   "--as", "demo-approver"])
    assert done.exit_code == 0, done.output
    with session() as s:
        assert framing.announcer(s, ["29377"]) == "Đài Truyền thanh - Truyền hình xã Đa Lộc"
    runner.invoke(cli_app, ["areas", "station", "29377", "--reset", "--as", "demo-approver"])
    with session() as s:
        assert framing.station(s, "29377") == ("Đài Truyền thanh xã Đa Lộc", False)
