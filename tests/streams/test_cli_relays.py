"""``bantin relays``: sources (checked against a real upstream), slots, runs and the Icecast configuration,
through the same service as the web page."""

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_relays_cli_walk(stream_home: Path, upstream: object) -> None:
    from tests.streams.test_relay_air import admin_user

    admin_user()
    url = upstream("/vov1.mp3")  # type: ignore[operator]
    out = runner.invoke(app, ["relays", "sources", "add", "VOV1", url, "--as", "admin"])
    assert out.exit_code == 0, out.output
    assert out.stdout == f"relay source 1: VOV1 (mp3) {url}\n"
    out = runner.invoke(app, ["relays", "sources", "add", "VOV2", "http://127.0.0.1:9/x.mp3", "--as", "admin"])
    assert out.exit_code != 0 and "the relay source cannot be reached" in str(out.exception)
    out = runner.invoke(app, ["relays", "slots", "add", "VOV1", "Xã Đa Lộc", "--starts", "06:00", "--ends", "06:30",
                              "--days", "t2-t6", "--as", "admin"])
    assert out.exit_code == 0, out.output
    assert out.stdout == "relay slot 1: 06:00-06:30 Mon-Fri in 29377 (uu_tien)\n"
    out = runner.invoke(app, ["relays", "slots", "add", "1", "29377", "--starts", "06:20", "--ends", "07:00",
                              "--as", "admin"])
    assert out.exit_code != 0 and "overlaps relay slot 1" in str(out.exception)
    out = runner.invoke(app, ["relays", "slots", "add", "VOV1", "29377", "--starts", "07:00", "--ends", "07:30"])
    assert out.exit_code != 0 and "who is acting?" in str(out.exception)
    out = runner.invoke(app, ["relays", "slots", "list"])
    assert out.stdout == "   1  29377  06:00-06:30 Mon-Fri  VOV1  uu_tien\n"
    out = runner.invoke(app, ["relays", "slots", "disable", "1", "--as", "admin"])
    assert out.exit_code == 0 and out.stdout == "relay slot 1 disabled\n"
    assert runner.invoke(app, ["relays", "slots", "list"]).stdout.endswith("uu_tien  [off]\n")
    assert runner.invoke(app, ["relays", "runs"]).stdout == ""
    runner.invoke(app, ["relays", "slots", "disable", "1", "--enable", "--as", "admin"])
    out = runner.invoke(app, ["relays", "icecast", "--write-only"])
    assert out.exit_code == 0, out.output
    config = (stream_home / "icecast" / "icecast.xml").read_text(encoding="utf-8")
    assert "<mount-name>/area-29377.mp3</mount-name>" in config
    assert '<option name="listener_add" value="http://127.0.0.1:8000/icecast/v1/listener"/>' in config
