"""The reference receiver's address stays known after it stops (tests compare it with stored destinations)."""

import re
from pathlib import Path

from web.reference_receiver import ReferenceReceiver


def test_the_url_is_known_while_running_and_after_closing(tmp_path: Path) -> None:
    with ReferenceReceiver(tmp_path / "rx") as receiver:
        running = receiver.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/packages", running)
    assert receiver.url == running  # the socket is closed; the address is not forgotten
