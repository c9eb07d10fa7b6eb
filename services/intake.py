"""Intake cleaning as a service: the versioned rules loaded once, and the cleaning report of a revision.

The rules live in ``prompts/intake/rules-v3.tsv``; :func:`domain.intake.apply_intake` decides what a
cleaning result means for a draft (refused, needs confirmation, needs a title). The text as sent is
stored with every text revision (its ``source_key``), so the report can always be rebuilt from it.
"""

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.drafts import DraftRevision, SourceKind, decode_text
from domain.freshness import FreshnessWarning, freshness_warnings
from domain.intake import IntakeResult, IntakeRules, clean_intake, parse_rules
from domain.intake_policy import kept_lines_of
from prompts import load_data
from settings import get_settings
from storage.objects import ObjectStore

RULES_FILE = ("intake", "rules-v3.tsv")


@lru_cache(maxsize=1)
def rules() -> IntakeRules:
    ref, text = load_data(*RULES_FILE)
    return parse_rules(text, version=ref)


def clean(text: str, *, keep: frozenset[int] = frozenset()) -> IntakeResult:
    return clean_intake(text, rules(), keep=keep)


def report_of(store: ObjectStore, revision: DraftRevision) -> IntakeResult | None:
    """The cleaning report of a text revision, rebuilt from the text as sent (None for audio drafts)."""
    if revision.source_kind is not SourceKind.TEXT or not revision.source_key or (
            revision.number > 1 and not kept_lines_of(revision.note)):  # an editor's edit is not cleaned
        return None
    original = decode_text(store.get_bytes(revision.source_key), source="the original text")
    return clean_intake(original, rules(), keep=kept_lines_of(revision.note))


VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def freshness_of(store: ObjectStore, revision: DraftRevision, *, now: datetime | None = None,
                 max_age_days: int | None = None) -> tuple[FreshnessWarning, ...]:
    """Old-news and expiry warnings for a revision (for the editor, the draft page and the approver).

    The article's own date comes from the cleaning report of the text as sent (its dateline).
    """
    report = report_of(store, revision)
    text = f"{revision.content.title}\n{revision.content.body}"
    return freshness_warnings(text, article_date=report.article_date if report else None,
                              expires_at=revision.content.expires_at,
                              now=(now or datetime.now(VN_TZ)).astimezone(VN_TZ),
                              max_age_days=max_age_days if max_age_days is not None
                              else get_settings().freshness_max_age_days)
