"""Engine, service and domain messages, said to an officer in their language.

Those messages are English one-liners written for the CLI and logs; pages show the Vietnamese text here
instead, never a path, a command or an engine's error. A message without a pattern becomes the generic
sentence of its kind in Vietnamese (English readers still see the original).
"""

import re

from domain.errors import ApprovalRefused, InvalidInput, InvalidTransition, ManifestMismatch, NotFound
from domain.languages import LANGUAGES
from web.i18n import translate

# (pattern on the English message, key of the Vietnamese/English sentence); named groups fill its {fields}.
PATTERNS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), k) for p, k in [
    (r"the draft has no title", "err_no_title"),
    (r"the draft is empty", "err_empty_body"),
    (r"the draft body is too short \((?P<n>\d+) characters; at least (?P<m>\d+)\)", "err_body_short"),
    (r"the draft body is too long \((?P<n>\d+) characters; at most (?P<m>\d+)\)", "err_body_long"),
    (r"the title must be one line of at most (?P<m>\d+) characters", "err_title_long"),
    (r"unknown area code\(s\): (?P<codes>[^(]+?) \(", "err_unknown_area"),
    (r"no target area given", "err_no_area"),
    (r"nothing changed", "err_nothing_changed"),
    (r"a rejection needs a reason", "err_reject_reason"),
    (r"'(?P<value>[^']*)' is not a date \(use YYYY-MM-DD\)", "err_bad_date"),
    (r"withdrawing or killing a bulletin needs a reason", "err_withdraw_reason"),
    (r"may not change the \S+ variant", "ve_err_may_not"),
    (r"it can be changed only while in review", "ve_err_state"),
    (r"variant has no text yet", "ve_err_no_text"),
    (r"this bulletin has no '[^']*' variant", "ve_err_no_variant"),
    (r"nothing was changed", "ve_err_unchanged"),
    (r"the recording is too short", "ve_err_short"),
    (r"the recording is silent", "ve_err_silent"),
    (r"the recording is clipped", "ve_err_clipped"),
    (r"the recording lasts (?P<n>\d+) s; at most (?P<m>\d+) s", "ve_err_long"),
    (r"both the loudspeaker script and the board text are needed", "err_translation_both"),
    (r"the script may have (?P<s>\d+) characters and the board text (?P<b>\d+)", "err_translation_long"),
    (r"this bulletin has no (?P<lang>.+) variant to translate", "err_no_variant"),
    (r"wrote this (content|template) and may not approve it", "err_four_eyes"),
    (r"has already approved this manifest", "err_already_approved"),
    (r"not awaiting review|only a package in review", "err_not_in_review"),
    (r"no language variant of this package is ready", "err_nothing_ready"),
    (r"has no approver membership for this package", "err_no_membership"),
    (r"awaiting a translation into (?P<lang>[^(]+?) \(", "err_awaiting_translation"),
    (r"machine translation into (?P<lang>.+?) with", "err_mt_failed"),
    (r"no \w+ model for language", "err_no_model"),
    (r"loudspeakers need a person's recording|no voice|Piper|MMS-TTS", "err_no_voice"),
    (r"is larger than (?P<m>\d+) MB", "err_file_too_big"),
    (r"ffmpeg|ffprobe|not a readable|no audio stream|file is empty|could not decode", "err_bad_audio"),
    (r"choose an audio file", "err_choose_file"),
    (r"a password needs at least (?P<m>\d+) characters", "err_password_short"),
    (r"user '(?P<username>[^']*)' already exists", "err_user_exists"),
    (r"bad username", "err_bad_username"),
    (r"a user needs a full name", "err_no_full_name"),
    (r"unknown role", "err_bad_role"),
    (r"a translator needs a language", "err_translator_language"),
    (r"is not an administrator for", "err_not_admin_here"),
    (r"you cannot disable your own account", "err_self_disable"),
    (r"destination URL must start with", "err_destination_url"),
    (r"a template named '(?P<name>[^']*)' exists", "err_template_exists"),
    (r"only a province approver", "err_template_province"),
    (r"the relay source cannot be reached", "err_relay_unreachable"),
    (r"the relay source carries no audio", "err_relay_not_audio"),
    (r"the relay slot (?P<span>\d\d:\d\d-\d\d:\d\d).* overlaps relay slot", "err_relay_overlap"),
    (r"a relay slot must end after it starts", "err_relay_order"),
    (r"a relay slot lasts from", "err_relay_length"),
    (r"the relay source URL must start with", "err_relay_url"),
    (r"a relay source needs a name", "err_relay_name"),
    (r"a relay source named '(?P<name>[^']*)' exists", "err_relay_exists"),
    (r"a relay cannot be an emergency", "err_relay_emergency"),
    (r"may not register relay sources", "err_relay_admin"),
    (r"area (?P<code>\S+) is already on air live \(session (?P<id>\d+) by (?P<who>[^)]*)\)", "err_live_busy"),
    (r"a relay of (?P<name>.+) is on air in area (?P<code>\S+) until", "err_live_relay"),
    (r"may not go on air live|may not stop a live session", "err_live_forbidden"),
    (r"no live session (?P<id>\d+)", "err_live_missing"),
    (r"who is acting\?", "err_who_acts"),
    (r"language\(s\) not used in the target areas (?P<codes>[^:]*): (?P<langs>[^;]+); choose among: "
     r"(?P<lang_choices>.+)$", "err_language_not_used"),
    # programme settings (services.program_admin, services.programs, services.default_content)
    (r"'(?P<value>[^']*)' is not a time of day", "pa_err_time"),
    (r"is not a day of the week|selects no day|needs at least one day", "pa_err_days"),
    (r"program length must be|is not a number \(length", "pa_err_length"),
    (r"\(for (?P<m>\d+) min\) falls in the quiet hours (?P<quiet>\S+) of area", "pa_err_in_quiet"),
    (r"a program needs a name", "pa_err_name"),
    (r"a program named '(?P<name>[^']*)' exists", "pa_err_name_taken"),
    (r"is not a time range|each range needs|-\d\d:\d\d is empty", "pa_err_range"),
    (r"RANGE=PERCENT|'percent' must be|is outside 0-100", "pa_err_volume"),
    (r"overlaps another range", "pa_err_overlap"),
    (r"quiet hours cover the whole day", "pa_err_all_day"),
    (r"only published packages can be default content", "pa_err_default_state"),
    (r"emergencies are never default content", "pa_err_default_emergency"),
    (r"package (?P<id>\d+) is aimed at", "pa_err_default_area"),
    (r"default content holds at most", "pa_err_default_many"),
    (r"is not a list of package numbers", "pa_err_default_numbers"),
    (r"unknown language '(?P<code>[^']*)'", "pa_err_language"),
    # areas by code or name (services.areas.resolve, storage's get_area): the candidates are listed
    (r"unknown area(?: code)? '(?P<query>[^']*)': no current unit; before 1 July 2025: (?P<moves>.+)$",
     "err_area_former"),
    (r"unknown area '(?P<query>[^']*)': no code or name matches; close: (?P<candidates>.+)$", "err_area_close"),
    (r"area (?P<code>\S+) \((?P<name>[^)]*)\) no longer exists since 1 July 2025; it is now part of (?P<now>.+)$",
     "err_area_retired"),
    (r"'(?P<query>[^']*)' names (?P<n>\d+) areas: (?P<candidates>.+?)(?:; and \d+ more)?\. Give the code",
     "err_area_candidates"),
    (r"unknown area code '(?P<codes>[^']*)'|unknown area '(?P<query>[^']*)'", "pa_err_area"),
    (r"names (?P<n>\d+) areas", "pa_err_area_ambiguous"),
    # publication (tasks.publishing, delivery and push errors)
    (r"no destination is configured", "pr_err_no_target"),
    (r"no destination accepted", "pr_err_none_accepted"),
    (r"lacks \d+ stored asset", "pr_err_assets"),
    (r"^HTTP (?P<code>\d{3})", "pr_err_http"),
    (r"[Tt]imeout|timed out", "pr_err_timeout"),
    (r"^\w*(Connect|Network|OS|Socket)\w*Error|[Cc]onnection refused|Name or service", "pr_err_connect"),
]]

_GENERIC = [(NotFound, "err_generic_not_found"), (ManifestMismatch, "err_generic_changed"),
            (InvalidTransition, "err_generic_state"), (ApprovalRefused, "err_generic_refused"),
            (InvalidInput, "err_generic_input")]


def _vi_language(name: str) -> str:
    """'Khmer' -> 'tiếng Khmer' (the Vietnamese name of a language given by its English name or code)."""
    name = name.strip()
    for code, lang in LANGUAGES.items():
        if name in (code, lang.name_en):
            return lang.name_vi[:1].lower() + lang.name_vi[1:]  # mid-sentence: "bản dịch tiếng Khmer"
    return name


def _language_names(lang: str, names: str) -> str:
    """Languages named in a message (codes or English names, comma-separated) in the reader's language."""
    if lang == "vi":
        return ", ".join(_vi_language(n) for n in names.split(", "))
    return ", ".join(LANGUAGES[n].name_en if n in LANGUAGES else n for n in names.split(", "))


def known_message(lang: str, message: str) -> str | None:
    """``message`` in ``lang`` when one of :data:`PATTERNS` says it, else None."""
    for pattern, key in PATTERNS:
        m = pattern.search(message)
        if m:
            fields = {k: _language_names(lang, v) if k.startswith("lang") and v else v
                      for k, v in m.groupdict().items()}
            return translate(lang, key).format(**fields)
    return None


def officer_message(lang: str, message: str, exc_type: type[Exception] | None = None,
                    fallback: str = "err_generic") -> str:
    """``message`` (an exception's text or a stored reason) as an officer should read it in ``lang``."""
    known = known_message(lang, message)
    if known is not None:
        return known
    if lang != "vi":
        return message
    for cls, key in _GENERIC:
        if exc_type is not None and issubclass(exc_type, cls):
            return translate(lang, key)
    return translate(lang, fallback)


def error_text(lang: str, exc: Exception) -> str:
    return officer_message(lang, str(exc), type(exc))


def language_name(lang: str, code: str) -> str:
    """A language's name for the page: Vietnamese names in the Vietnamese UI, English ones in English."""
    known = LANGUAGES.get(code)
    if known is None:
        return code
    return known.name_vi if lang == "vi" else known.name_en
