"""Feedback configuration as data: categories, routing rules, calendar, retention and intake limits.

Defaults are built in; an operator overrides them with a TOML file (``BANTIN_FEEDBACK_CONFIG``)::

    retention_days = 365
    days_off = ["2026-02-16", "2026-02-20"]       # the government's extra days off for the year
    makeup_days = ["2026-02-28"]                  # Saturdays worked in exchange

    [[category]]
    code = "flooding"
    name_vi = "Ngập lụt"
    name_en = "Flooding"
    due_days = 2

    [[rule]]                                      # first match wins; default: the commune of the area
    category = "security"
    within = "*"
    unit = "@province"

Public holidays come from the maintained ``holidays`` package (Vietnam, including Tết and Hùng Kings'
day on the lunar calendar); the file adds what each year's decision adds.
"""

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import holidays

from domain.errors import InvalidInput
from domain.feedback import DEFAULT_CATEGORIES, Category, FeedbackError, RoutingRule, WorkCalendar, category_map


@dataclass(frozen=True, slots=True)
class FeedbackConfig:
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    rules: tuple[RoutingRule, ...] = ()
    retention_days: int = 365
    days_off: frozenset[date] = field(default_factory=frozenset)
    makeup_days: frozenset[date] = field(default_factory=frozenset)
    max_per_client: int = 5  # submissions per client per window
    max_per_area: int = 100  # submissions per area per window
    window_s: float = 3600.0

    def category(self, code: str) -> Category:
        """Raises FeedbackError for an unknown category code, or none chosen (``no_category``)."""
        if not code:
            raise FeedbackError("no_category", "Hãy chọn lĩnh vực phản ánh (ví dụ: đường sá, môi trường).")
        found = category_map(self.categories).get(code)
        if found is None:
            raise FeedbackError("unknown_category", f"Không có lĩnh vực phản ánh '{code[:40]}'.", category=code[:40])
        return found

    def calendar(self) -> WorkCalendar:
        return WorkCalendar(is_holiday=vietnam_holidays(self.days_off), makeup_days=self.makeup_days)


def vietnam_holidays(days_off: frozenset[date] = frozenset()) -> Callable[[date], bool]:
    """A predicate: Vietnam's public holidays (observed days included) or one of ``days_off``."""
    vn = holidays.country_holidays("VN")

    def is_holiday(d: date) -> bool:
        return d in days_off or d in vn

    return is_holiday


def _dates(values: object, key: str) -> frozenset[date]:
    if not isinstance(values, list):
        raise InvalidInput(f"feedback config: '{key}' must be a list of YYYY-MM-DD dates")
    try:
        return frozenset(date.fromisoformat(str(v)) for v in values)
    except ValueError as exc:
        raise InvalidInput(f"feedback config: '{key}': {exc}") from None


def parse_config(data: dict[str, object]) -> FeedbackConfig:
    """Build a config from a parsed TOML document. Raises InvalidInput naming the first problem."""
    try:
        cats = tuple(Category(code=str(c["code"]), name_vi=str(c["name_vi"]),
                              name_en=str(c.get("name_en", c["name_vi"])),
                              due_days=int(c["due_days"]), group=str(c.get("group", "general")))
                     for c in data.get("category", [])) or DEFAULT_CATEGORIES  # type: ignore[attr-defined]  # parsed TOML, checked by the except below
        rules = tuple(RoutingRule(str(r.get("category", "*")), str(r.get("within", "*")), str(r["unit"]))
                      for r in data.get("rule", []))  # type: ignore[attr-defined]  # parsed TOML, checked by the except below
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(f"feedback config: bad category or rule ({exc})") from None
    category_map(cats)
    retention = int(data.get("retention_days", 365))  # type: ignore[call-overload]  # parsed TOML: int() raises on a bad value
    if not 1 <= retention <= 3650:
        raise InvalidInput("feedback config: retention_days must be 1-3650")
    return FeedbackConfig(categories=cats, rules=rules, retention_days=retention,
                          days_off=_dates(data.get("days_off", []), "days_off"),
                          makeup_days=_dates(data.get("makeup_days", []), "makeup_days"),
                          max_per_client=int(data.get("max_per_client", 5)),  # type: ignore[call-overload]  # parsed TOML: int() raises on a bad value
                          max_per_area=int(data.get("max_per_area", 100)),  # type: ignore[call-overload]  # parsed TOML: int() raises on a bad value
                          window_s=float(data.get("window_s", 3600.0)))  # type: ignore[arg-type]  # parsed TOML: float() raises on a bad value


def read_config(path: Path) -> FeedbackConfig:
    if not path.is_file():
        raise InvalidInput(f"feedback config file not found: {path.name}")
    try:
        return parse_config(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"feedback config {path.name} is not valid TOML: {exc}") from None


def _cached(path: str | None) -> FeedbackConfig:
    from services.caches import CACHES

    return CACHES.feedback_config.get_or_build(path, lambda: read_config(Path(path)) if path else FeedbackConfig())


def load_config() -> FeedbackConfig:
    """The configured feedback settings (the file named by the settings, else the defaults)."""
    from settings import get_settings

    s = get_settings()
    cfg = _cached(str(s.feedback_config) if s.feedback_config else None)
    if s.feedback_retention_days is not None:
        return FeedbackConfig(categories=cfg.categories, rules=cfg.rules, retention_days=s.feedback_retention_days,
                              days_off=cfg.days_off, makeup_days=cfg.makeup_days, max_per_client=cfg.max_per_client,
                              max_per_area=cfg.max_per_area, window_s=cfg.window_s)
    return cfg
