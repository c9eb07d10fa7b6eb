"""What a cleaning result means for a draft: refused, confirmed, titled (pure).

:func:`apply_intake` turns :func:`domain.intake.clean_intake`'s result into a title and body, or one of the
errors below, each carrying the result so every entry point can show the removed lines.
"""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.intake import IntakeResult, IntakeRules, clean_intake, is_doc_type, normal_line


class DraftAllBoilerplate(InvalidInput):
    """Nothing is left after cleaning: the draft is refused, listing what was removed."""

    def __init__(self, result: IntakeResult) -> None:
        lines = "; ".join(r.describe() for r in result.removed[:12])
        more = f" (+{len(result.removed) - 12})" if len(result.removed) > 12 else ""
        super().__init__(f"Bản thảo chỉ có phần thừa của trang web, không còn nội dung để phát. Đã bỏ "
                         f"{len(result.removed)} dòng: {lines}{more} / The draft is all web boilerplate; "
                         "nothing is left to broadcast.")
        self.result = result


class CleaningNeedsConfirmation(InvalidInput):
    """Cleaning removed more than half of the lines: the editor confirms before the draft is stored."""

    def __init__(self, result: IntakeResult) -> None:
        super().__init__(f"Bộ lọc đã bỏ {result.lines_removed} trên {result.content_lines} dòng (hơn một nửa). "
                         "Hãy xem lại các dòng bị bỏ và xác nhận để gửi. / Cleaning removed "
                         f"{result.lines_removed} of {result.content_lines} lines (more than half); review them "
                         "and confirm to submit.")
        self.result = result


class TitleNeeded(InvalidInput):
    """No plausible headline was found (or the given one is boilerplate): the editor must give one."""

    def __init__(self, result: IntakeResult | None, problem: str) -> None:
        super().__init__(f"Chưa có tiêu đề phù hợp: hãy nhập tiêu đề của bản tin. / No usable title: {problem}; "
                         "give the bulletin's title.")
        self.result = result
        self.problem = problem


HEAVY_CLEANING_SHARE = 0.5


def title_problem(title: str, rules: IntakeRules) -> str:
    """Why an editor's title cannot be used ("" when it can): boilerplate, or only a document type."""
    line = normal_line(title)
    rule = rules.first_match(line, "line") or rules.first_match(line, "block")
    if rule is not None:
        return f"the title is web boilerplate ({rule.explanation_en})"
    if is_doc_type(line):
        return "the title is only a document type"
    return ""


def apply_intake(text: str, title: str, rules: IntakeRules, *, keep: frozenset[int] = frozenset(),
                 confirmed: bool = False) -> tuple[str, str, IntakeResult]:
    """Clean a text draft and decide its title and body.

    Args:
        text: The body as sent (with the title as its first line when ``title`` is empty).
        title: The editor's title, or "" to take the headline from the text.
        rules: Parsed rules.
        keep: Line numbers the editor keeps although a rule matched them.
        confirmed: The editor accepts that more than half of the lines go.

    Returns:
        ``(title, body, result)``.

    Raises:
        DraftAllBoilerplate: nothing is left.
        TitleNeeded: no headline in the text and none given, or the given one is boilerplate.
        CleaningNeedsConfirmation: more than half removed and not ``confirmed``.
    """
    result = clean_intake(text, rules, keep=keep)
    if not result.content_lines:
        raise InvalidInput("the draft is empty: write the announcement's text")
    if result.nothing_left:
        raise DraftAllBoilerplate(result)
    if title.strip():
        problem = title_problem(title, rules)
        if problem:
            raise TitleNeeded(result, problem)
        same = normal_line(title).rstrip(" .").casefold() == result.title.casefold()
        body = result.body if same else result.text
    else:
        if not result.title:
            raise TitleNeeded(result, result.title_problem)
        title, body = result.title, result.body
    if result.removed_share > HEAVY_CLEANING_SHARE and not confirmed:
        raise CleaningNeedsConfirmation(result)
    return title, body, result


KEPT_LINES_MARK = "[giữ lại dòng / kept lines]"


def kept_lines_note(keep: tuple[int, ...] | frozenset[int]) -> str:
    """A revision note recording the lines the editor kept back (so the report can be rebuilt)."""
    return f"{KEPT_LINES_MARK} {','.join(str(n) for n in sorted(keep))}" if keep else ""


def kept_lines_of(note: str) -> frozenset[int]:
    if not note.startswith(KEPT_LINES_MARK):
        return frozenset()
    return frozenset(int(x) for x in note[len(KEPT_LINES_MARK):].strip().split(",") if x.strip().isdigit())
