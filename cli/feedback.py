"""``bantin feedback``: citizens' feedback for handlers: the queue, one item, and every handling step.

Each command acts as ``--as`` (or BANTIN_USER) and calls the same service functions as the web pages;
contact data is printed only to handlers of the item's area.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from cli.common import AsUser, echo, ensure_db
from domain.errors import InvalidInput
from domain.feedback import Channel
from services import feedback as fb
from services import feedback_intake as intake
from services.runtime import object_store, session
from storage.models_feedback import FeedbackRecord

feedback_app = typer.Typer(help="Citizens' feedback (phản ánh, kiến nghị): queue, handling, figures.",
                           no_args_is_help=True)


def _who(as_user: str) -> str:
    if not as_user:
        raise InvalidInput("say who is acting: --as USERNAME (or set BANTIN_USER)")
    return as_user


def _row(rec: FeedbackRecord) -> dict[str, object]:
    return {"id": rec.id, "code": rec.tracking_code, "state": rec.state, "category": rec.category,
            "area": rec.area_code, "unit": rec.unit_code, "assignee": rec.assignee, "due": rec.due_date,
            "overdue": fb.overdue(rec), "received_at": rec.received_at.isoformat()}


@feedback_app.command("list")
def list_items(
    state: Annotated[str, typer.Option(help="Comma-separated states (default: the open ones and answered).")] = "",
    category: Annotated[str, typer.Option(help="Only this category code.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    as_user: AsUser = "",
) -> None:
    """The items you handle, the most urgent due date first (! marks overdue ones)."""
    ensure_db()
    with session() as s:
        recs = fb.queue(s, _who(as_user), states=[x.strip() for x in state.split(",") if x.strip()] or None,
                        category=category or None)
        rows = [_row(r) for r in recs]
    if as_json:
        echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for r in rows:
        mark = "!" if r["overdue"] else " "
        echo(f"{mark}{r['id']:>6}  {r['code']}  {r['state']:<11} {r['category']:<20} {r['area']}->{r['unit']}  "
             f"due {r['due']}  {r['assignee'] or '-'}")
    if not rows:
        echo("no items")


@feedback_app.command("show")
def show(feedback_id: int, as_user: AsUser = "") -> None:
    """One item with its notes and possible duplicates (contact data shown to its handlers)."""
    ensure_db()
    with session() as s:
        who = _who(as_user)
        rec = fb.get_for(s, who, feedback_id)
        out = _row(rec)
        out.update(text=rec.text, hamlet=rec.hamlet, channel=rec.channel, answer=rec.answer,
                   contact_name=rec.contact_name, contact_phone=rec.contact_phone, photo=bool(rec.photo_key),
                   voice=bool(rec.voice_key), voice_transcript=rec.voice_transcript,
                   bulletin_draft_id=rec.bulletin_draft_id, reject_reason=rec.reject_reason,
                   notes=[{"author": a, "text": t, "at": at.isoformat()} for a, t, at in fb.notes(s, who, feedback_id)],
                   possible_duplicates=[{"id": h.feedback_id, "code": h.tracking_code, "score": h.score}
                                        for h in fb.suggest_duplicates(s, feedback_id)])
    echo(json.dumps(out, ensure_ascii=False, indent=1))


@feedback_app.command("assign")
def assign(feedback_id: int, to: Annotated[str, typer.Option(help="Assignee (default: you).")] = "",
           as_user: AsUser = "") -> None:
    """Take an item (or give it to another handler of its area)."""
    ensure_db()
    with session() as s:
        rec = fb.assign(s, feedback_id, actor=_who(as_user), assignee=to or None)
        echo(f"feedback {rec.id}: assigned to {rec.assignee}")


@feedback_app.command("start")
def start(feedback_id: int, as_user: AsUser = "") -> None:
    """Mark an assigned item as being worked on."""
    ensure_db()
    with session() as s:
        echo(f"feedback {fb.start(s, feedback_id, actor=_who(as_user)).id}: in progress")


@feedback_app.command("answer")
def answer(feedback_id: int, text: Annotated[str, typer.Argument(help="The authority's answer (public).")],
           on_air: Annotated[bool, typer.Option("--on-air", help="Also make the answer a draft bulletin.")] = False,
           as_user: AsUser = "") -> None:
    """Record the answer the citizen sees on the status page; --on-air makes it a draft bulletin too."""
    ensure_db()
    who = _who(as_user)
    with session() as s:
        rec = fb.answer(s, feedback_id, actor=who, text=text)
        echo(f"feedback {rec.id}: answered")
        if on_air:
            echo(f"draft {fb.answer_on_air(s, object_store(), feedback_id, actor=who)}: the answer, to produce")


@feedback_app.command("on-air")
def on_air(feedback_id: int, as_user: AsUser = "") -> None:
    """Make an answered item's answer a draft bulletin (no personal data), once."""
    ensure_db()
    with session() as s:
        echo(f"draft {fb.answer_on_air(s, object_store(), feedback_id, actor=_who(as_user))}")


@feedback_app.command("close")
def close(feedback_id: int, as_user: AsUser = "") -> None:
    """Close an answered item."""
    ensure_db()
    with session() as s:
        echo(f"feedback {fb.close(s, feedback_id, actor=_who(as_user)).id}: closed")


@feedback_app.command("reject")
def reject(feedback_id: int, reason: Annotated[str, typer.Argument(help="spam, duplicate, out_of_scope, other")],
           note: Annotated[str, typer.Option(help="Why (needed for 'other').")] = "",
           duplicate_of: Annotated[int | None, typer.Option(help="The original item (for 'duplicate').")] = None,
           as_user: AsUser = "") -> None:
    """Reject as spam, a duplicate (of another item), out of scope or other."""
    ensure_db()
    with session() as s:
        rec = fb.reject(s, feedback_id, actor=_who(as_user), reason=reason, note=note, duplicate_of=duplicate_of)
        echo(f"feedback {rec.id}: rejected ({rec.reject_reason})")


@feedback_app.command("transfer")
def transfer(feedback_id: int, unit: Annotated[str, typer.Argument(help="Area code of the receiving unit.")],
             note: Annotated[str, typer.Option(help="Why (kept as an internal note).")] = "",
             as_user: AsUser = "") -> None:
    """Send an open item to another unit (up to the province, or across)."""
    ensure_db()
    with session() as s:
        rec = fb.transfer(s, feedback_id, actor=_who(as_user), to_unit=unit, note=note)
        echo(f"feedback {rec.id}: transferred to {rec.unit_code}")


@feedback_app.command("note")
def note(feedback_id: int, text: str, as_user: AsUser = "") -> None:
    """Add an internal note (never shown to the citizen)."""
    ensure_db()
    with session() as s:
        fb.add_note(s, feedback_id, actor=_who(as_user), text=text)
    echo(f"feedback {feedback_id}: note added")


@feedback_app.command("enter")
def enter(area: str, category: str, text: str,
          channel: Annotated[str, typer.Option(help="phone or in_person")] = "phone",
          phone: Annotated[str, typer.Option(help="The citizen's phone (with their consent).")] = "",
          name: Annotated[str, typer.Option(help="The citizen's name (with their consent).")] = "",
          consent: Annotated[bool, typer.Option(help="The citizen agreed to be contacted.")] = False,
          as_user: AsUser = "") -> None:
    """Enter feedback received by phone or in person; prints the tracking code to tell the citizen."""
    ensure_db()
    try:
        ch = Channel(channel)
    except ValueError:
        raise InvalidInput("channel must be phone or in_person") from None
    with session() as s:
        r = intake.submit_by_officer(s, object_store(), intake.Submission(
            area_code=area, category=category, text=text, channel=ch, contact_phone=phone, contact_name=name,
            contact_consent=consent), officer=_who(as_user))
    echo(f"feedback {r.feedback_id}: tracking code {r.tracking_code}, due {r.due.isoformat()}, unit {r.unit_code}")


@feedback_app.command("figures")
def figures(area: Annotated[str, typer.Option(help="Area code (default: all).")] = "",
            days: Annotated[int, typer.Option(help="Items received in the last N days.")] = 30) -> None:
    """Counts by state, category and area, median time to answer, % answered on time (QĐ 135)."""
    ensure_db()
    end = datetime.now(UTC)
    with session() as s:
        f = fb.figures(s, area or None, end - timedelta(days=days), end)
    echo(json.dumps({k: getattr(f, k) for k in f.__dataclass_fields__}, ensure_ascii=False, indent=1))


@feedback_app.command("erase-expired")
def erase_expired(days: Annotated[int | None, typer.Option(help="Retention in days (default: configured).")] = None
                  ) -> None:
    """Erase contact data and voice messages older than the retention period (safe to rerun)."""
    ensure_db()
    done = fb.erase_expired(session, object_store(), retention_days=days)
    echo(f"{done.items} item(s) erased, {len(done.voice_keys)} voice message(s) deleted")


@feedback_app.command("transcribe")
def transcribe(feedback_id: int) -> None:
    """Transcribe an item's voice message with Whisper for the officer (the recording is kept)."""
    from services.runtime import session as open_session

    ensure_db()
    text = intake.transcribe_voice(open_session, object_store(), feedback_id)
    echo(text or "no voice message")
