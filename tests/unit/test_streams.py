"""Listen tokens and mount names (domain.streams) and the generated icecast.xml (engines.icecast), no I/O."""

from pathlib import Path

import pytest

from domain.streams import TokenRefused, area_mount, listen_token, listen_url, mount_area, verify_listener
from engines.icecast import IcecastConfig, render_config

SECRET = bytes.fromhex("11" * 32)


def test_mount_names_round_trip_and_refuse_unsafe_codes() -> None:
    assert area_mount("29377") == "/area-29377.mp3"
    assert mount_area("/area-29377.mp3") == "29377"
    assert mount_area("/other.mp3") is None
    with pytest.raises(ValueError):
        area_mount("../x")


def test_a_token_lets_one_device_listen_to_one_mount_until_it_expires() -> None:
    url = listen_url("http://radio.example:8010/", SECRET, "/area-29377.mp3", 7, 2_000_000_000)
    assert url.startswith("http://radio.example:8010/area-29377.mp3?t=7.2000000000.")
    token = url.split("?t=")[1]
    assert token == listen_token(SECRET, "/area-29377.mp3", 7, 2_000_000_000)  # deterministic: a stable ETag
    found = verify_listener(SECRET, f"/area-29377.mp3?t={token}", now=1_999_999_999)
    assert (found.device_id, found.mount, found.expires) == (7, "/area-29377.mp3", 2_000_000_000)


@pytest.mark.parametrize(("requested", "reason"), [
    ("/area-29380.mp3?t={token}", "does not verify"),  # another area's mount
    ("/area-29377.mp3?t={forged}", "does not verify"),  # device id changed, MAC kept
    ("/area-29377.mp3", "no listen token"),
    ("/area-29377.mp3?t=abc", "malformed"),
    ("/admin/stats?t={token}", "not an area mount"),
])
def test_bad_tokens_are_refused(requested: str, reason: str) -> None:
    token = listen_token(SECRET, "/area-29377.mp3", 7, 2_000_000_000)
    forged = "8" + token[1:]
    with pytest.raises(TokenRefused, match=reason):
        verify_listener(SECRET, requested.format(token=token, forged=forged), now=1_000)


def test_an_expired_token_is_refused() -> None:
    token = listen_token(SECRET, "/area-29377.mp3", 7, 1_000)
    with pytest.raises(TokenRefused, match="expired 5 s ago"):
        verify_listener(SECRET, f"/area-29377.mp3?t={token}", now=1_005)
    with pytest.raises(TokenRefused, match="does not verify"):
        verify_listener(b"another installation", f"/area-29377.mp3?t={token}", now=0)


def test_config_puts_every_mount_behind_the_listener_check_and_changes_owner_as_root(tmp_path: Path) -> None:
    xml = render_config(IcecastConfig(directory=tmp_path, port=8010, source_password="s<1", admin_password="a&2",
                                      auth_url="http://127.0.0.1:8000/icecast/v1/listener",
                                      mounts=("/area-29377.mp3",), run_as=("icecast2", "icecast")))
    assert "<source-password>s&lt;1</source-password>" in xml
    assert "<admin-password>a&amp;2</admin-password>" in xml
    assert "<mount-name>/area-29377.mp3</mount-name>" in xml
    assert xml.count('<option name="listener_add" value="http://127.0.0.1:8000/icecast/v1/listener"/>') == 2
    assert "<changeowner><user>icecast2</user><group>icecast</group></changeowner>" in xml
    assert "<bind-address>127.0.0.1</bind-address>" in xml
    open_xml = render_config(IcecastConfig(directory=tmp_path, port=8010, source_password="s", admin_password="a"))
    assert "listener_add" not in open_xml and "changeowner" not in open_xml
