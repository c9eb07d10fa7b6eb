"""Budgets and diffs of an edited variant, and the reasons a person's recording is refused."""

import math

import pytest

from domain.errors import InvalidInput
from domain.speech import SpeakingRate
from domain.variant_text import board_lines, budget, text_diff
from engines.recording_check import RecordingLevels
from services.variant_edits import check_voice


def test_board_lines_wrap_each_paragraph_at_48_characters() -> None:
    assert board_lines("a" * 48) == 1
    assert board_lines("a" * 49) == 2
    assert board_lines("Ngày 5/12\n\nTại trạm y tế xã\n" + "b" * 100) == 1 + 1 + 3


def test_budget_is_over_past_ten_percent_and_lines_past_the_board() -> None:
    # 30 syllables at 3 per second, two sentence ends at 0.4 s and one clause break at 0.2 s: 11.0 s.
    spoken = " ".join(["một"] * 15) + ", " + " ".join(["hai"] * 5) + ". " + " ".join(["ba"] * 10) + "."
    rate = SpeakingRate(3.0, 0.4, 0.2)
    b = budget(spoken, "x", target_seconds=10.0, target_lines=1, rate=rate)
    assert b.script_seconds == 11.0 and not b.script_over and not b.board_over
    b = budget(spoken, "x\ny", target_seconds=9.0, target_lines=1, rate=rate)
    assert b.script_over and b.board_over and b.to_meta()["board_lines"] == 2


def test_diff_names_the_text_and_shows_removed_and_added_lines() -> None:
    assert text_diff("a\nb", "a\nb", label="script") == ""
    assert text_diff("Tiêm ngày 5.\nTại xã.", "Tiêm ngày 6.\nTại xã.", label="script") == (
        "--- script (before)\n+++ script (after)\n@@ -1,2 +1,2 @@\n-Tiêm ngày 5.\n+Tiêm ngày 6.\n Tại xã.")


@pytest.mark.parametrize(("levels", "reason"), [
    (RecordingLevels(0.4, -20.0, -6.0, 0.0), "too short"),
    (RecordingLevels(8.0, -math.inf, -math.inf, 0.0), "silent"),
    (RecordingLevels(8.0, -55.0, -30.0, 0.0), "silent"),
    (RecordingLevels(8.0, -45.0, -45.0, 0.0), "silent"),
    (RecordingLevels(8.0, -12.0, 0.0, 0.002), "clipped"),
    (RecordingLevels(121.0, -20.0, -6.0, 0.0), "121 s; at most 120 s"),
])
def test_unusable_recordings_are_refused_with_the_reason(levels: RecordingLevels, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        check_voice(levels, 120.0)


def test_a_quiet_but_clear_take_is_accepted() -> None:
    check_voice(RecordingLevels(60.0, -41.0, -33.0, 0.0005), 120.0)
