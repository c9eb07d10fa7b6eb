"""Intake cleaning: web-page boilerplate removed from a pasted draft, line by line, by rules that are data.

Text copied from a government portal brings the page with it: visitor counters, hotline banners, menus,
image captions and file names, font-size widgets, polls, share and go-top links, language switchers,
bylines, datelines and markdown debris. :func:`clean_intake` removes those lines using a versioned rule
list (``prompts/intake/rules-vN.tsv``, parsed by :func:`parse_rules`), and reports every removed line
with the rule that removed it, so the editor sees what went and can keep a line back. The page's own
dateline is kept as metadata (the article's date), and a title is suggested when the first line is not
a plausible headline (a bare document type such as "KẾ HOẠCH" is joined with the subject line after it).

Pure: no I/O. The caller reads the rules file and passes its text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from domain.errors import InvalidInput

_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
_MACROS = {"{U}": "[" + _LOWER.upper() + "]", "{L}": "[" + _LOWER + "]"}
SCOPES = ("line", "block", "run", "prefix")
MIN_RUN = 3  # a menu or link list: at least three short lines in a row
MAX_BLOCK_LINES = 25
# Document types that head official texts; alone on a line they are not a title.
DOC_TYPES = frozenset((
    "thông báo", "kế hoạch", "quyết định", "công văn", "báo cáo", "tờ trình", "chỉ thị", "giấy mời",
    "thư mời", "hướng dẫn", "công điện", "lời kêu gọi", "thư ngỏ", "thông cáo", "nghị quyết", "tin",
    "tin tức", "bản tin", "thông báo khẩn", "công văn hỏa tốc", "thông tin",
))
MIN_TITLE_WORDS = 3  # "Lịch cắt điện", "Lịch tiêm chủng" are headlines; "Lịch tiêm" is not
MAX_TITLE_WORDS = 40
MAX_TITLE_CHARS = 200
_DATE_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?!\d)")
_DATE_WORDS = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class IntakeRule:
    """One cleaning rule: ``pattern`` is matched against a whole stripped line."""

    id: str
    category: str
    scope: str
    pattern: re.Pattern[str]
    explanation_vi: str
    explanation_en: str
    meta: str = ""  # "date1".."date3": a dateline whose date is the article's (1 preferred); "short"/"nonprose"

    def matches(self, line: str) -> bool:
        return self.pattern.fullmatch(line) is not None

    def prefix_of(self, line: str) -> str:
        """The boilerplate at the start of ``line`` this (prefix) rule takes off, or "" when it does not
        apply: the pattern must match at the start and leave a sentence of the text behind."""
        match = self.pattern.match(line)
        if match is None or not match.group(0).strip():
            return ""
        return match.group(0) if is_prose(line[match.end():].strip()) else ""


@dataclass(frozen=True, slots=True)
class IntakeRules:
    version: str
    rules: tuple[IntakeRule, ...]

    def first_match(self, line: str, scope: str) -> IntakeRule | None:
        return next((r for r in self.rules if r.scope == scope and r.matches(line)), None)


@dataclass(frozen=True, slots=True)
class RemovedLine:
    """A line taken out, with the rule that took it (``number`` counts from 1 in the text as sent)."""

    number: int
    text: str
    rule_id: str
    category: str
    explanation_vi: str
    explanation_en: str
    partial: bool = False  # only ``text``, the start of the line, was taken off; the rest of the line is kept

    def describe(self, language: str = "vi") -> str:
        why = self.explanation_en if language == "en" else self.explanation_vi
        return f"{self.number}: {self.text}  [{why}]"


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What cleaning found.

    Attributes:
        text: The kept lines, in order (blank lines between paragraphs kept, runs collapsed).
        removed: Every removed line with its rule.
        article_date: The article's own date, from its dateline, if one was found.
        title: A suggested title: the first kept line when it is a plausible headline, a document type
            joined with its subject line, or "" when there is none (``title_problem`` says why).
        body: ``text`` without the line(s) the title came from.
        title_problem: Why no title could be suggested ("" when one was).
        rules_version: The rule list's version.
        content_lines: Non-blank lines in the text as sent.
    """

    text: str
    removed: tuple[RemovedLine, ...]
    article_date: date | None
    title: str
    body: str
    title_problem: str
    rules_version: str
    content_lines: int

    @property
    def lines_removed(self) -> int:
        """Lines removed whole (a source tag taken off the start of a line does not count)."""
        return sum(1 for r in self.removed if not r.partial)

    @property
    def removed_share(self) -> float:
        return self.lines_removed / self.content_lines if self.content_lines else 0.0

    @property
    def nothing_left(self) -> bool:
        return not self.text.strip()

    def report(self, language: str = "vi") -> tuple[str, ...]:
        return tuple(r.describe(language) for r in self.removed)


def _expand(pattern: str) -> str:
    for macro, value in _MACROS.items():
        pattern = pattern.replace(macro, value)
    return pattern


def parse_rules(text: str, *, version: str) -> IntakeRules:
    """Parse a rules file: tab-separated id, category, scope, flags, meta, pattern, explanation (vi | en).

    Raises:
        InvalidInput: a malformed row (wrong column count, unknown scope, bad regex, duplicate id).
    """
    rules: list[IntakeRule] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cols = raw.split("\t")
        if len(cols) != 7:
            raise InvalidInput(f"intake rules {version} line {number}: expected 7 tab-separated columns, "
                               f"got {len(cols)}")
        rule_id, category, scope, flags, meta, pattern, explanation = (c.strip() for c in cols)
        if scope not in SCOPES:
            raise InvalidInput(f"intake rules {version} line {number}: unknown scope '{scope}'")
        if rule_id in seen:
            raise InvalidInput(f"intake rules {version} line {number}: duplicate rule id '{rule_id}'")
        seen.add(rule_id)
        try:
            compiled = re.compile(_expand(pattern), re.IGNORECASE if flags == "i" else 0)
        except re.error as exc:
            raise InvalidInput(f"intake rules {version} line {number} ({rule_id}): bad pattern: {exc}") from None
        vi, _, en = explanation.rpartition(" | ") if " | " in explanation else (explanation, "", "")
        rules.append(IntakeRule(rule_id, category, scope, compiled, vi.strip(), (en or vi).strip(),
                                "" if meta == "-" else meta))
    return IntakeRules(version, tuple(rules))


def words(line: str) -> int:
    return len(_WORD.findall(line))


def normal_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line).replace("\u00a0", " ")
    return " ".join(line.split())


def is_prose(line: str) -> bool:
    """A sentence of the text rather than a link or a label: long, or ending like a sentence."""
    end = line.rstrip(" \"'”’)»")
    n = words(line)
    return n >= 25 or (n >= 8 and end.endswith((".", "!", "…", ";")))


def _short(line: str) -> bool:
    return words(line) <= 4 or line.rstrip().endswith("?")


def _date_in(line: str) -> date | None:
    for pattern in (_DATE_NUMERIC, _DATE_WORDS):
        for match in pattern.finditer(line):
            d, m, y = (int(g) for g in match.groups())
            try:
                return date(y, m, d)
            except ValueError:
                continue
    return None


def dates_in(text: str) -> tuple[date, ...]:
    """Every valid full date (d/m/yyyy or "ngày d tháng m năm yyyy") in ``text``, in order."""
    found: list[tuple[int, date]] = []
    for pattern in (_DATE_NUMERIC, _DATE_WORDS):
        for match in pattern.finditer(text):
            d, m, y = (int(g) for g in match.groups())
            try:
                found.append((match.start(), date(y, m, d)))
            except ValueError:
                continue
    return tuple(d for _, d in sorted(found))


def clean_intake(text: str, rules: IntakeRules, *, keep: frozenset[int] = frozenset()) -> IntakeResult:
    """Remove boilerplate lines from a pasted draft.

    Args:
        text: The draft as sent (title line included when the editor gave none separately).
        rules: Parsed rule list.
        keep: Line numbers (from 1) the editor chose to keep even though a rule matched them.

    Returns:
        The cleaning result; nothing is raised here, the caller decides what a result means.
    """
    lines = [normal_line(x) for x in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    verdict: dict[int, IntakeRule] = {}
    block: IntakeRule | None = None
    block_left = 0
    for i, line in enumerate(lines):
        if not line:
            continue
        rule = rules.first_match(line, "line") or rules.first_match(line, "block")
        if rule is not None:
            verdict[i] = rule
            if rule.scope == "block":
                block, block_left = rule, MAX_BLOCK_LINES
            continue
        if block is not None and block_left > 0:
            inside = _short(line) if block.meta == "short" else not is_prose(line)
            if inside:
                verdict[i] = block
                block_left -= 1
                continue
        block = None
    _mark_runs(lines, rules, verdict)
    removed: list[RemovedLine] = []
    kept: list[str] = []
    dated: list[tuple[str, date]] = []
    prefixes = [r for r in rules.rules if r.scope == "prefix"]
    for i, line in enumerate(lines):
        rule = verdict.get(i)
        if rule is None or (i + 1) in keep:
            if line and (i + 1) not in keep:
                line = _strip_prefix(i + 1, line, prefixes, removed)
            if line or (kept and kept[-1]):
                kept.append(line)
            continue
        removed.append(RemovedLine(i + 1, line, rule.id, rule.category, rule.explanation_vi, rule.explanation_en))
        when = _date_in(line) if rule.meta.startswith("date") else None
        if when is not None:
            dated.append((rule.meta, when))
    clean = "\n".join(kept).strip()
    article_date = min(dated, key=lambda x: x[0])[1] if dated else None
    title, body, problem = suggest_title(clean)
    return IntakeResult(clean, tuple(removed), article_date, title, body, problem, rules.version,
                        sum(1 for x in lines if x))


def _strip_prefix(number: int, line: str, prefixes: list[IntakeRule], removed: list[RemovedLine]) -> str:
    """``line`` without a source tag at its start ("(Cổng TTĐT) - ", "TTXVN - "), the tag reported."""
    for rule in prefixes:
        cut = rule.prefix_of(line)
        if cut:
            removed.append(RemovedLine(number, cut.strip(), rule.id, rule.category, rule.explanation_vi,
                                       rule.explanation_en, partial=True))
            rest = line[len(cut):].lstrip()
            return rest[:1].upper() + rest[1:]
    return line


def _mark_runs(lines: list[str], rules: IntakeRules, verdict: dict[int, IntakeRule]) -> None:
    """Mark runs of at least MIN_RUN short link-like lines.

    Menu lines already removed by a line rule count towards a run (a menu mixes known and unknown items);
    blank lines do not break it. A run that follows a line ending in ":" is a list of the text and is kept,
    up to the first removed menu line.
    """
    for rule in (r for r in rules.rules if r.scope == "run"):
        for run in _runs(lines, rule, verdict):
            for j in run:
                verdict[j] = rule


def _runs(lines: list[str], rule: IntakeRule, verdict: dict[int, IntakeRule]) -> list[list[int]]:
    """The runs of lines matching ``rule`` long enough to be removed (see :func:`_mark_runs`)."""
    found: list[list[int]] = []
    run: list[int] = []
    count, exempt, previous = 0, False, ""
    for i, line in enumerate([*lines, "."]):  # a final sentinel closes the last run
        if not line:
            continue
        if i in verdict:
            if verdict[i].category == "menu":
                if exempt:
                    run, count, exempt = [], 0, False
                count += 1
            continue
        if i < len(lines) and rule.matches(line) and not is_doc_type(line):
            if count == 0:
                exempt = previous.endswith(":")
            run.append(i)
            count += 1
            continue
        if count >= MIN_RUN and not exempt:
            found.append(run)
        run, count, exempt, previous = [], 0, False, line
    return found


def is_doc_type(line: str) -> bool:
    return line.strip(" .:").casefold() in DOC_TYPES


def _is_upper(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def plausible_title(line: str) -> str:
    """Why ``line`` cannot be a headline ("" when it can)."""
    n = words(line)
    if is_doc_type(line):
        return "only a document type"
    if n < MIN_TITLE_WORDS:
        return "too short"
    if n > MAX_TITLE_WORDS or len(line) > MAX_TITLE_CHARS:
        return "too long"
    if line.endswith(":"):
        return "an introduction to a list"
    if line.endswith((".", "!")) and n > 25 and not _is_upper(line):
        return "a sentence of the text"
    return ""


def suggest_title(clean: str) -> tuple[str, str, str]:
    """(title, body, problem) from cleaned text: the headline and the rest, or "" and why not."""
    lines = clean.split("\n")
    content = [i for i, x in enumerate(lines) if x.strip()]
    if not content:
        return "", "", "nothing left"
    first = lines[content[0]].strip()

    def rest(after: int) -> str:
        return "\n".join(lines[after + 1:]).strip()

    if is_doc_type(first) and len(content) > 2:  # a subject line and text after it (the title never takes it all)
        subject = lines[content[1]].strip()
        if not plausible_title(subject) or subject.casefold().startswith(("về việc", "v/v")):
            kind = first.strip(" .:")
            if _is_upper(subject):
                joined = subject
            else:
                kind = kind[0].upper() + kind[1:].lower()
                lead = subject.split()[0]
                joined = subject if _is_upper(lead) else subject[0].lower() + subject[1:]
            return f"{kind} {joined}".strip(), rest(content[1]), ""
    problem = plausible_title(first)
    if problem:
        return "", clean, f"the first line is not a headline ({problem}): '{first[:80]}'"
    return first.rstrip(" ."), rest(content[0]), ""
