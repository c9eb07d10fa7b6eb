"""Budgets for text a person edits: how long the loudspeaker script takes to read and whether the board text
fits the board, and the unified diff the audit log keeps of an edit. Pure: no I/O.

Over budget is reported, never cut: the editor decides what to drop.
"""

import difflib
import math
from dataclasses import dataclass

from domain.speech import SLOT_TOLERANCE, SpeakingRate

# Characters of body text on one line of a 1920x1080 slide at the normal body size (conservative for
# Vietnamese with diacritics). The web form's live counter uses the same number.
BOARD_CHARS_PER_LINE = 48


@dataclass(frozen=True, slots=True)
class TextBudget:
    """Estimated speech seconds and board lines against their targets."""

    script_seconds: float
    target_seconds: float
    board_lines: int
    target_lines: int

    @property
    def script_over(self) -> bool:
        return self.script_seconds > self.target_seconds * (1 + SLOT_TOLERANCE)  # the ±10 % summaries aim for

    @property
    def board_over(self) -> bool:
        return self.board_lines > self.target_lines

    def to_meta(self) -> dict[str, object]:
        return {"estimated_seconds": self.script_seconds, "target_seconds": self.target_seconds,
                "board_lines": self.board_lines, "target_lines": self.target_lines,
                "script_over_budget": self.script_over, "board_over_budget": self.board_over}


def board_lines(text: str, *, chars_per_line: int = BOARD_CHARS_PER_LINE) -> int:
    """Lines the board text takes when each paragraph wraps at ``chars_per_line`` characters."""
    return sum(max(1, math.ceil(len(line.strip()) / chars_per_line)) for line in text.splitlines() if line.strip())


def budget(spoken_script: str, board_text: str, *, target_seconds: float, target_lines: int,
           rate: SpeakingRate) -> TextBudget:
    """The budget of an edited variant; ``spoken_script`` is the script as the voice reads it at ``rate``."""
    return TextBudget(round(rate.seconds(spoken_script), 1),
                      target_seconds, board_lines(board_text), target_lines)


def text_diff(before: str, after: str, *, label: str) -> str:
    """A unified diff of one text, line by line ("" when unchanged)."""
    return "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                          fromfile=f"{label} (before)", tofile=f"{label} (after)", lineterm=""))
