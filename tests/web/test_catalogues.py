"""The UI text catalogues (gettext, managed with Babel) and the Vietnamese UI: every message in both languages,
catalogues compiled from a clean checkout, and no English or bare message key on the main pages in Vietnamese."""

import html
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from tests.web.accounts import DRAFT_AREA
from tests.web.test_authz import login, make_item
from web import i18n

LOCALE = Path(i18n.__file__).parent / "locale"
# Words that never stand alone in Vietnamese text; English sentences have them.
ENGLISH_WORDS = re.compile(r"\b(the|and|with|from|please|this|that|awaiting|failed|error|see|run|not)\b", re.I)
KEY_LIKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def _po(lang: str) -> dict[str, str]:
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_every_message_is_in_both_languages() -> None:
    vi, en = _po("vi"), _po("en")
    assert set(vi) == set(en)
    assert [k for k, v in vi.items() if not v.strip()] == []
    assert [k for k, v in en.items() if not v.strip()] == []
    for key in vi:  # the same placeholders on both sides
        assert set(re.findall(r"{(\w*)}", vi[key])) == set(re.findall(r"{(\w*)}", en[key])), key


def test_a_clean_checkout_compiles_its_catalogues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for lang in ("vi", "en"):
        (tmp_path / lang / "LC_MESSAGES").mkdir(parents=True)
        shutil.copy(LOCALE / lang / "LC_MESSAGES" / "messages.po", tmp_path / lang / "LC_MESSAGES")
    vi = i18n.load_translations("vi", tmp_path)
    assert (tmp_path / "vi" / "LC_MESSAGES" / "messages.mo").exists()
    assert vi.gettext("login") == "Đăng nhập" and i18n.load_translations("en", tmp_path).gettext("login") == "Log in"

    def read_only(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only installation")

    (tmp_path / "vi" / "LC_MESSAGES" / "messages.mo").unlink()
    monkeypatch.setattr(i18n.tempfile, "mkstemp", read_only)
    assert i18n.load_translations("vi", tmp_path).gettext("logout") == "Đăng xuất"  # compiled in memory
    assert not (tmp_path / "vi" / "LC_MESSAGES" / "messages.mo").exists()


def test_dictionaries_are_folded_into_the_catalogues_once() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("messages_to_po", Path(__file__).parents[2] / "scripts" /
                                                  "messages_to_po.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    from babel.messages.catalog import Catalog

    cats = {"vi": Catalog(locale="vi"), "en": Catalog(locale="en")}
    table = {"vi": {"x_hello": "Xin chào"}, "en": {"x_hello": "Hello"}}
    assert script.add(cats, table, "one.py") == [] and script.add(cats, table, "again.py") == []
    assert (cats["vi"]["x_hello"].string, cats["en"]["x_hello"].string) == ("Xin chào", "Hello")
    clash = script.add(cats, {"vi": {"x_hello": "Chào"}, "en": {"x_hello": "Hi"}}, "other.py")
    assert clash == ["other.py: 'x_hello' (vi) is already 'Xin chào'", "other.py: 'x_hello' (en) is already 'Hello'"]


def test_translate_falls_back_to_vietnamese_then_to_the_key() -> None:
    assert i18n.translate("vi", "approve") == "Duyệt" and i18n.translate("en", "approve") == "Approve"
    assert i18n.translate("fr", "approve") == "Duyệt"
    assert i18n.translate("en", "no_such_key_here") == "no_such_key_here"


def visible_text(page: str) -> str:
    """What a reader sees or hears of a page: text and the attributes shown or announced. Text marked
    ``translate="no"`` is a record shown as written (an audit entry's action code and detail), not UI text."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r'<(\w+)\b[^>]*\btranslate="no"[^>]*>.*?</\1>', " ", page, flags=re.S)
    attrs = " ".join(m.group(2) for m in re.finditer(r'\b(placeholder|aria-label|title|alt)="([^"]*)"', page))
    body = re.sub(r"<title>.*?</title>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + attrs)


def _english_leaks(text: str) -> list[str]:
    vi = i18n.MESSAGES["vi"]
    leaks = []
    for key, english in i18n.MESSAGES["en"].items():
        if english == vi.get(key) or len(english) < 12 or " " not in english:
            continue
        longest = max(re.split(r"{\w*}", english), key=len).strip()
        if len(longest) >= 12 and longest in text:
            leaks.append(f"{key}: {longest}")
    keys = set(i18n.MESSAGES["vi"]) | set(i18n.MESSAGES["en"])
    leaks += [f"bare key {k}" for k in KEY_LIKE.findall(text) if k in keys]
    leaks += [f"English word '{m.group(0)}' in …{text[max(0, m.start() - 40):m.end() + 40]}…"
              for m in ENGLISH_WORDS.finditer(text)]
    return leaks


MAIN_PAGES = {
    "editor_daloc": ["/drafts/new", "/", "/translations", "/search", "/programs?area=" + DRAFT_AREA,
                     "/drafts/{draft}", "/packages/{package}", "/packages/{package}/translate/km"],
    "approver_daloc": ["/packages/{package}", "/queue", "/programs/settings?area=" + DRAFT_AREA, "/admin/templates",
                       "/dashboard", "/feedback", "/feedback/{feedback}", "/feedback/new", "/reports", "/relays",
                       "/live"],
    "admin": ["/admin", "/admin/users", "/admin/destinations", "/admin/keys", "/admin/models", "/admin/audit",
              "/devices", "/deliveries", "/deliveries?dead=1", "/programs/settings?area=" + DRAFT_AREA, "/relays",
              "/live", "/admin/templates", "/packages/{package}"],
    "": ["/phan-anh/" + DRAFT_AREA, "/phan-anh/theo-doi", "/phan-anh/theo-doi/{tracking}"],  # the public's pages
}


def _feedback_item() -> tuple[int, str]:
    """A resident's feedback for Đa Lộc (its id and tracking code), through the intake service."""
    from services import feedback_intake
    from services.runtime import object_store, session

    with session() as s:
        receipt = feedback_intake.submit(s, object_store(), feedback_intake.Submission(
            area_code=DRAFT_AREA, category="infrastructure",
            text="Đèn đường ở thôn Ô Rồm bị hỏng hai tuần nay, buổi tối rất nguy hiểm cho học sinh."))
    return receipt.feedback_id, receipt.tracking_code


@pytest.mark.integration
@pytest.mark.parametrize("user", sorted(MAIN_PAGES))
def test_no_english_reaches_the_vietnamese_ui(client: TestClient, user: str) -> None:
    draft_id, package_id, _ = make_item()
    feedback_id, tracking = _feedback_item()
    if user:
        login(client, user)
    found = {}
    for template in MAIN_PAGES[user]:
        path = template.format(draft=draft_id, package=package_id, feedback=feedback_id, tracking=tracking)
        resp = client.get(path, follow_redirects=True)
        assert resp.status_code == 200, (path, resp.status_code)
        text = visible_text(resp.text).replace("English", "")  # the language switch names its language
        leaks = _english_leaks(text)
        if leaks:
            found[path] = leaks
    assert found == {}
    first = MAIN_PAGES[user][0].format(draft=draft_id, package=package_id, feedback=feedback_id, tracking=tracking)
    english = visible_text(client.get(first + "?lang=en").text)  # the check does see English
    assert len(_english_leaks(english.replace("Tiếng Việt", ""))) >= 3
    client.get("/?lang=vi")


# The audit actions built at run time, each family with every value it takes (the enums and literals at the call).
AUDIT_FAMILIES = {
    "package.": ("created", "revising", "producing", "failed", "in_review", "approved", "rejected", "scheduled",
                 "published", "corrected", "superseded", "withdrawn", "killed"),
    "device.": ("pending", "authorised", "revoked"),
    "approval.": ("approved", "rejected"),
    "program.edition.": ("planned", "published", "empty", "skipped", "failed"),
    "feedback.": ("answered", "assigned", "closed", "rejected", "reopened", "started", "transferred"),
    "relay.": ("missed", "not_carried", "failed", "upstream_down", "fallback", "no_fallback", "upstream_back",
               "emergency"),
    "channel.": ("mqtt.sent", "mqtt.failed"),
    "emergency.": ("play", "stop", "none"),
    "": ("delivery.delivered", "delivery.dead", "delivery.pending", "delivery.resend", "retraction.delivered",
         "retraction.dead", "retraction.pending", "retraction.resend"),  # outbox: f"{kind}.{outcome}"
}


def _audit_actions() -> tuple[set[str], set[str]]:
    """The action codes the code base writes to the audit log: the literal ones (``action="user.created"``,
    either side of a conditional) and the constant start of the built ones (``f"relay.{event}"``)."""
    import ast

    literal: set[str] = set()
    built: set[str] = set()
    root = Path(__file__).resolve().parents[2]
    for top in ("services", "storage", "web", "cli", "tasks", "flows", "deployments"):
        for path in (root / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == "record" and getattr(node.func.value, "id", "") == "audit"):
                    continue
                for value in (k.value for k in node.keywords if k.arg == "action"):
                    for part in (value.body, value.orelse) if isinstance(value, ast.IfExp) else (value,):
                        if isinstance(part, ast.Constant) and isinstance(part.value, str):
                            literal.add(part.value)
                        elif isinstance(part, ast.JoinedStr):
                            head = part.values[0]
                            built.add(str(head.value) if isinstance(head, ast.Constant) else "")
    return literal, built


def test_every_audit_action_has_an_officer_label_in_both_languages() -> None:
    """The audit page shows each entry's action in the officer's words (``aud_<code>``); a new action code, or a
    new family of them, needs its label (and, for a family, its values listed above)."""
    literal, built = _audit_actions()
    assert {"user.created", "relay.slot.disable", "live.carrier_lost", "signing_key.rotated"} <= literal
    assert built == set(AUDIT_FAMILIES)
    codes = literal | {prefix + value for prefix, values in AUDIT_FAMILIES.items() for value in values}
    vi, en = _po("vi"), _po("en")
    keys = {c: "aud_" + c.replace(".", "_") for c in codes}
    assert sorted(c for c, key in keys.items() if key not in vi or key not in en) == []
    assert vi["aud_package_published"] == "Phát hành gói tin" and en["aud_package_published"] == "Package published"
