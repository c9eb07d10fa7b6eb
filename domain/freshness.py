"""Freshness of a bulletin: old news and past expiry are flagged before anything airs (pure).

A pasted page can be years old (a 2011 decision aired as news in 2026). The newest date written in the
draft (its text, and the article's own dateline kept by intake cleaning) is compared with today; a draft
whose newest date is older than the configured age, or whose expiry has passed, gets a warning for the
editor and the approver. Dates in the future count as new: an announcement of a meeting next week is fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.intake import dates_in


@dataclass(frozen=True, slots=True)
class FreshnessWarning:
    code: str  # "old" or "expired"
    vi: str
    en: str

    def text(self, language: str = "vi") -> str:
        return self.en if language == "en" else self.vi


def freshness_warnings(text: str, *, article_date: date | None, expires_at: datetime | None, now: datetime,
                       max_age_days: int) -> tuple[FreshnessWarning, ...]:
    """Warnings for a draft's text and expiry at ``now`` (time-zone aware).

    Args:
        text: Title and body of the draft.
        article_date: The article's own date from its dateline, if known.
        expires_at: The draft's expiry, if any.
        now: The current time (injected), in the zone times are shown in.
        max_age_days: Older newest dates than this are flagged.
    """
    found = [*dates_in(text), *([article_date] if article_date else [])]
    out: list[FreshnessWarning] = []
    if found:
        newest = max(found)
        age = (now.date() - newest).days
        if age > max_age_days:
            shown = f"{newest:%d/%m/%Y}"
            out.append(FreshnessWarning(
                "old",
                f"Tin có thể đã cũ: ngày mới nhất trong bản tin là {shown}, cách đây {age} ngày "
                f"(quá {max_age_days} ngày). Hãy kiểm tra trước khi phát.",
                f"Possibly old news: the newest date in the bulletin is {shown}, {age} days ago "
                f"(more than {max_age_days}). Check before airing.",
            ))
    if expires_at is not None and expires_at <= now:
        shown = f"{expires_at.astimezone(now.tzinfo):%H:%M %d/%m/%Y}"  # in the caller's zone (Vietnam time)
        out.append(FreshnessWarning(
            "expired", f"Bản tin đã hết hạn lúc {shown}.", f"The bulletin expired at {shown}."))
    return tuple(out)
