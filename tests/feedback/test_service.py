"""Feedback handling on a real database: intake, routing, states, transfer, notes, permissions, due dates
across Tết with a controlled clock, the on-time figure, the answer on air, retention, and the audit log."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.errors import InvalidTransition, NotFound
from domain.feedback import Channel, FeedbackError, FeedbackState, RoutingRule
from services import feedback as fb
from services import feedback_intake as intake
from services.feedback_config import FeedbackConfig
from storage.db import session_scope
from storage.models import AuditRecord, DraftRevisionRecord
from storage.repositories import audit
from tests.feedback.conftest import DALOC, FRIDAY_BEFORE_TET, MYCHANH, make_db

pytestmark = pytest.mark.integration
TEXT = "Đèn đường ở thôn Ô Rồm bị hỏng hai tuần nay, buổi tối rất nguy hiểm cho học sinh."


def sub(**kw: object) -> intake.Submission:
    base: dict[str, object] = dict(area_code=DALOC, category="infrastructure", text=TEXT)
    base.update(kw)
    return intake.Submission(**base)  # type: ignore[arg-type]


def test_submit_routes_to_the_commune_sets_due_date_over_tet_and_audits_without_contact(engine, store) -> None:
    with session_scope(engine) as s:
        r = intake.submit(s, store, sub(contact_name="Nguyễn Văn An", contact_phone="0912 345 678",
                                        contact_consent=True), now=FRIDAY_BEFORE_TET)
    assert r.unit_code == DALOC
    # Infrastructure: 10 working days. Tết (16-20 Feb) and two weekends pass: 23-27 Feb, 2-6 March.
    assert r.due == date(2026, 3, 6)
    with session_scope(engine) as s:
        rec = fb.get_for(s, "canbo_daloc", r.feedback_id)
        assert (rec.state, rec.contact_phone, rec.contact_name) == ("received", "0912345678", "Nguyễn Văn An")
        entries = audit.entries(s, entity="feedback", entity_id=r.feedback_id)
        assert [e.action for e in entries] == ["feedback.received"]
        assert "0912345678" not in str(entries[0].detail) and "Nguyễn" not in str(entries[0].detail)
        assert entries[0].detail["unit"] == DALOC and entries[0].detail["contact"] is True


def test_the_whole_path_received_assigned_in_progress_answered_closed(engine, store) -> None:
    with session_scope(engine) as s:
        fid = intake.submit(s, store, sub(category="security"), now=FRIDAY_BEFORE_TET).feedback_id
    answered_at = datetime(2026, 2, 24, 2, 0, tzinfo=UTC)
    with session_scope(engine) as s:
        fb.assign(s, fid, actor="canbo_daloc", assignee="canbo2_daloc")
        fb.add_note(s, fid, actor="canbo2_daloc", text="Đã gọi điện cho trưởng thôn.")
        fb.start(s, fid, actor="canbo2_daloc")
        rec = fb.answer(s, fid, actor="canbo2_daloc", text="Xã đã thay bóng đèn ngày 23/2.", now=answered_at)
        assert (rec.state, rec.answered_by, rec.answered_at, rec.due_date) == \
            ("answered", "canbo2_daloc", answered_at, "2026-02-25")
        fb.close(s, fid, actor="canbo_daloc", now=answered_at + timedelta(days=1))
    with session_scope(engine) as s:
        actions = [(e.action, e.actor, e.detail.get("state_to")) for e in audit.entries(s, entity="feedback",
                                                                                          entity_id=fid)]
        assert actions == [("feedback.received", "public", None),
                           ("feedback.assigned", "canbo_daloc", "assigned"),
                           ("feedback.noted", "canbo2_daloc", None),
                           ("feedback.started", "canbo2_daloc", "in_progress"),
                           ("feedback.answered", "canbo2_daloc", "answered"),
                           ("feedback.closed", "canbo_daloc", "closed")]
        assert fb.notes(s, "canbo_daloc", fid)[0][:2] == ("canbo2_daloc", "Đã gọi điện cho trưởng thôn.")
        with pytest.raises(InvalidTransition, match="cannot go from 'closed' to 'in_progress'"):
            fb.reopen(s, fid, actor="canbo_daloc")


def test_handlers_of_another_commune_and_translators_may_not_act_or_see(engine, store) -> None:
    with session_scope(engine) as s:
        fid = intake.submit(s, store, sub(), now=FRIDAY_BEFORE_TET).feedback_id
    with session_scope(engine) as s:
        for who in ("canbo_mychanh", "dich_km"):
            with pytest.raises(FeedbackError, match=f"Tài khoản '{who}' không xử lý") as err:
                fb.assign(s, fid, actor=who)
            assert err.value.code == "forbidden"
            assert fb.queue(s, who) == []
        assert [r.id for r in fb.queue(s, "canbo_daloc")] == [fid]
        assert [r.id for r in fb.queue(s, "duyet_travinh")] == [fid]  # the province covers its communes
        with pytest.raises(FeedbackError, match="không xử lý"):
            fb.assign(s, fid, actor="canbo_daloc", assignee="canbo_mychanh")  # nor be assigned it


def test_transfer_up_to_the_province_then_across_keeps_the_due_date(engine, store) -> None:
    with session_scope(engine) as s:
        fid = intake.submit(s, store, sub(), now=FRIDAY_BEFORE_TET).feedback_id
        due = fb.get_for(s, "canbo_daloc", fid).due_date
    with session_scope(engine) as s:
        fb.assign(s, fid, actor="canbo_daloc")
        rec = fb.transfer(s, fid, actor="canbo_daloc", to_unit="84", note="Đường tỉnh lộ, thuộc tỉnh quản lý.")
        assert (rec.state, rec.unit_code, rec.assignee, rec.due_date) == ("received", "84", None, due)
        with pytest.raises(FeedbackError) as same:
            fb.transfer(s, fid, actor="duyet_travinh", to_unit="84")
        assert same.value.code == "same_unit"
        with pytest.raises(FeedbackError) as unknown:
            fb.transfer(s, fid, actor="duyet_travinh", to_unit="99999")
        assert unknown.value.code == "unknown_unit"
        fb.transfer(s, fid, actor="duyet_travinh", to_unit=MYCHANH)
    with session_scope(engine) as s:
        assert [r.id for r in fb.queue(s, "canbo_mychanh")] == [fid]
        details = [e.detail for e in audit.entries(s, entity="feedback", entity_id=fid)
                   if e.action == "feedback.transferred"]
        assert [(d["from_unit"], d["to_unit"]) for d in details] == [(DALOC, "84"), ("84", MYCHANH)]
        assert "thuộc tỉnh quản lý" in fb.notes(s, "canbo_mychanh", fid)[0][1]


def test_routing_rules_send_security_items_to_the_province(engine, store) -> None:
    cfg = FeedbackConfig(rules=(RoutingRule("security", "*", "@province"),))
    with session_scope(engine) as s:
        r = intake.submit(s, store, sub(category="security"), now=FRIDAY_BEFORE_TET, config=cfg)
        other = intake.submit(s, store, sub(category="policy"), now=FRIDAY_BEFORE_TET, config=cfg)
    assert (r.unit_code, other.unit_code) == ("84", DALOC)


def test_reject_needs_a_known_reason_and_a_duplicate_names_its_original(engine, store) -> None:
    with session_scope(engine) as s:
        first = intake.submit(s, store, sub(), now=FRIDAY_BEFORE_TET).feedback_id
        second = intake.submit(s, store, sub(text="Đèn đường thôn Ô Rồm bị hỏng hai tuần nay, buổi tối rất nguy "
                                                  "hiểm."), now=FRIDAY_BEFORE_TET + timedelta(hours=2)).feedback_id
        third = intake.submit(s, store, sub(text="Loa phát thanh ở chợ quá to vào buổi sáng sớm."),
                              now=FRIDAY_BEFORE_TET + timedelta(hours=3)).feedback_id
    with session_scope(engine) as s:
        hints = fb.suggest_duplicates(s, second)
        assert [h.feedback_id for h in hints] == [first]
        assert fb.suggest_duplicates(s, third) == []
        with pytest.raises(FeedbackError) as bad:
            fb.reject(s, second, actor="canbo_daloc", reason="boring")
        assert bad.value.code == "bad_reason"
        with pytest.raises(FeedbackError) as missing:
            fb.reject(s, second, actor="canbo_daloc", reason="duplicate")
        assert missing.value.code == "duplicate_needs_original"
        rec = fb.reject(s, second, actor="canbo_daloc", reason="duplicate", duplicate_of=first)
        assert (rec.state, rec.reject_reason, rec.duplicate_of) == ("rejected", "duplicate", first)
        with pytest.raises(InvalidTransition):
            fb.assign(s, second, actor="canbo_daloc")


@pytest.mark.parametrize("field,value,code", [
    ("text", "   ", "empty"), ("text", "x" * 4001, "too_long"), ("category", "weather", "unknown_category"),
    ("area_code", "00000", "unknown_area"), ("contact_phone", "12ab", "bad_phone"),
    ("contact_phone", "0912345678", "consent")])
def test_bad_input_is_refused_and_nothing_is_stored(engine, store, field: str, value: str, code: str) -> None:
    with session_scope(engine) as s:
        with pytest.raises(FeedbackError) as err:
            intake.submit(s, store, sub(**{field: value}), now=FRIDAY_BEFORE_TET)
        assert err.value.code == code
    with session_scope(engine) as s:
        assert fb.queue(s, "duyet_travinh") == []
        assert s.scalar(select(AuditRecord).where(AuditRecord.entity == "feedback")) is None
    assert list(store.keys()) == []


def test_compare_and_set_refuses_a_stale_write(engine, store) -> None:
    with session_scope(engine) as s:
        fid = intake.submit(s, store, sub(), now=FRIDAY_BEFORE_TET).feedback_id
    from storage.repositories import feedback as repo

    with session_scope(engine) as s1:
        stale = repo.get(s1, fid)
        s1.expunge(stale)
    with session_scope(engine) as s2:
        fb.assign(s2, fid, actor="canbo_daloc")
    with session_scope(engine) as s3:
        s3.add(stale)
        with pytest.raises(FeedbackError) as err:
            repo.compare_and_set(s3, stale, expected=FeedbackState.RECEIVED, state="rejected")
        assert err.value.code == "conflict"


def test_on_time_figure_across_tet_with_a_controlled_clock(engine, store) -> None:
    """Three 'security' items (3 working days) received the Friday before Tết are due on 25 Feb.

    One answered on 24 Feb (on time although 11 calendar days later), one at 23:30 on 25 Feb Vietnam
    time (on time), one on 26 Feb (late); a fourth left open past its due date is late too; a fifth was
    received in the period but is rejected as spam and does not count.
    """
    with session_scope(engine) as s:
        ids = [intake.submit(s, store, sub(category="security", text=f"{TEXT} ({n})"), now=FRIDAY_BEFORE_TET)
               .feedback_id for n in range(5)]
    answers = [datetime(2026, 2, 24, 2, 0, tzinfo=UTC), datetime(2026, 2, 25, 16, 30, tzinfo=UTC),
               datetime(2026, 2, 26, 1, 0, tzinfo=UTC)]
    with session_scope(engine) as s:
        for fid, at in zip(ids, answers, strict=False):
            fb.assign(s, fid, actor="canbo_daloc")
            fb.answer(s, fid, actor="canbo_daloc", text="Công an xã đã xử lý việc này.", now=at)
        fb.reject(s, ids[4], actor="canbo_daloc", reason="spam")
    start, end = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        before_due = fb.figures(s, "84", start, end, now=datetime(2026, 2, 25, 12, 0, tzinfo=UTC))
        after_due = fb.figures(s, "84", start, end, now=datetime(2026, 3, 2, tzinfo=UTC))
        elsewhere = fb.figures(s, MYCHANH, start, end, now=datetime(2026, 3, 2, tzinfo=UTC))
        with pytest.raises(NotFound):
            fb.figures(s, "00000", start, end)
    # At noon on the due day the open item is not late yet: only the three answered items count.
    assert (before_due.counted_for_on_time, before_due.answered_on_time) == (3, 2)
    assert (after_due.counted_for_on_time, after_due.answered_on_time, after_due.overdue) == (4, 2, 1)
    assert after_due.on_time_percent == 50.0
    assert after_due.by_state == {"answered": 3, "received": 1, "rejected": 1}
    assert after_due.by_category == {"security": 5}
    assert after_due.by_area == {DALOC: 5}
    assert after_due.median_hours_to_answer == 301.5  # 263 h, 301.5 h, 310 h
    assert elsewhere.total == 0 and elsewhere.on_time_percent is None


def test_officer_enters_a_phone_call_for_an_area_they_handle(engine, store) -> None:
    with session_scope(engine) as s:
        r = intake.submit_by_officer(s, store, sub(channel=Channel.PHONE), officer="canbo_daloc",
                                     now=FRIDAY_BEFORE_TET)
        rec = fb.get_for(s, "canbo_daloc", r.feedback_id)
        assert (rec.channel, rec.entered_by) == ("phone", "canbo_daloc")
        with pytest.raises(FeedbackError) as err:
            intake.submit_by_officer(s, store, sub(channel=Channel.PHONE), officer="canbo_mychanh")
        assert err.value.code == "forbidden"


def test_answer_on_air_makes_one_draft_without_personal_data(engine, store) -> None:
    with session_scope(engine) as s:
        fid = intake.submit(s, store, sub(contact_name="Nguyễn Văn An", contact_phone="0912345678",
                                          contact_consent=True), now=FRIDAY_BEFORE_TET).feedback_id
    with session_scope(engine) as s:
        with pytest.raises(FeedbackError) as early:
            fb.answer_on_air(s, store, fid, actor="canbo_daloc")
        assert early.value.code == "not_answered"
        fb.assign(s, fid, actor="canbo_daloc")
        fb.answer(s, fid, actor="canbo_daloc", text="Xã sẽ thay đèn đường thôn Ô Rồm trong tuần này.")
        draft_id = fb.answer_on_air(s, store, fid, actor="canbo_daloc")
        assert fb.answer_on_air(s, store, fid, actor="canbo_daloc") == draft_id  # once only
    with session_scope(engine) as s:
        rev = s.scalar(select(DraftRevisionRecord).where(DraftRevisionRecord.draft_id == draft_id))
        assert rev.title == "Trả lời phản ánh của người dân: Hạ tầng (đường, điện, nước)"
        assert rev.body == ("Ủy ban nhân dân xã Đa Lộc trả lời ý kiến phản ánh, kiến nghị của người dân về hạ tầng "
                            "(đường, điện, nước).\nXã sẽ thay đèn đường thôn Ô Rồm trong tuần này.")
        assert (rev.area_codes, rev.languages, rev.priority) == ([DALOC], ["vi", "km"], "thuong")
        everything = f"{rev.title} {rev.body} {rev.source_ref} {rev.requesting_unit}"
        for secret in ("Nguyễn", "0912345678", "hai tuần nay"):
            assert secret not in everything
        assert [e.action for e in audit.entries(s, entity="feedback", entity_id=fid)][-1] == "feedback.on_air"
        status = intake.public_status(s, fb.get_for(s, "canbo_daloc", fid).tracking_code)
        assert (status.bulletin_draft_id, status.bulletin_package_id) == (draft_id, None)  # not yet on air


def test_retention_erases_contact_and_voice_but_keeps_the_item(engine, store) -> None:
    with session_scope(engine) as s:
        old = intake.submit(s, store, sub(contact_phone="0912345678", contact_consent=True),
                            now=datetime(2025, 1, 2, tzinfo=UTC)).feedback_id
        new = intake.submit(s, store, sub(contact_phone="0987654321", contact_consent=True),
                            now=datetime(2026, 1, 2, tzinfo=UTC)).feedback_id
    now = datetime(2026, 2, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        assert fb.erase_expired_contacts(s, now=now, retention_days=365) == fb.Erasure(1, ())
        assert fb.erase_expired_contacts(s, now=now, retention_days=365) == fb.Erasure(0, ())  # safe to rerun
    with session_scope(engine) as s:
        gone, kept = fb.get_for(s, "canbo_daloc", old), fb.get_for(s, "canbo_daloc", new)
        assert (gone.contact_phone, gone.contact_erased_at, gone.text) == (None, now, TEXT)
        assert kept.contact_phone == "0987654321"
        assert [e.action for e in audit.entries(s, entity="feedback", entity_id=old)][-1] == "feedback.contact_erased"


def test_public_status_shows_the_answer_and_never_contact_data(engine, store) -> None:
    with session_scope(engine) as s:
        r = intake.submit(s, store, sub(contact_phone="0912345678", contact_consent=True), now=FRIDAY_BEFORE_TET)
    with session_scope(engine) as s:
        st = intake.public_status(s, r.tracking_code.lower())
        assert (st.state, st.answer, st.area_name) == ("received", "", "Xã Đa Lộc")
        assert st.state is FeedbackState.RECEIVED  # the enum, read from the database value
        assert "0912345678" not in repr(st)
        fb.assign(s, r.feedback_id, actor="canbo_daloc")
        fb.answer(s, r.feedback_id, actor="canbo_daloc", text="Xã đã thay bóng đèn ngày 23/2.")
    with session_scope(engine) as s:
        assert intake.public_status(s, r.tracking_code).answer == "Xã đã thay bóng đèn ngày 23/2."
        with pytest.raises(NotFound):
            intake.public_status(s, "AAAAAAAA")
        with pytest.raises(FeedbackError):
            intake.public_status(s, "<b>")


def test_rate_limits_per_client_and_per_area_with_an_injected_clock() -> None:
    t = [0.0]
    limits = intake.IntakeLimits.from_config(FeedbackConfig(max_per_client=2, max_per_area=3, window_s=60),
                                             clock=lambda: t[0])
    limits.check("1.2.3.4", DALOC)
    limits.check("1.2.3.4", DALOC)
    with pytest.raises(FeedbackError) as client:
        limits.check("1.2.3.4", DALOC)
    assert client.value.code == "rate_limited"
    limits.check("5.6.7.8", DALOC)
    with pytest.raises(FeedbackError) as area:
        limits.check("9.9.9.9", DALOC)
    assert area.value.code == "area_rate_limited"
    limits.check("9.9.9.9", MYCHANH)
    t[0] = 61.0
    limits.check("1.2.3.4", DALOC)  # the window has passed


@pytest.mark.postgres
def test_the_path_on_postgresql(postgres_url: str, store) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine, text

    from storage.models import Base

    eng = create_engine(postgres_url)
    with eng.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    eng.dispose()
    engine = make_db(postgres_url)
    try:
        with session_scope(engine) as s:
            fid = intake.submit(s, store, sub(category="security"), now=FRIDAY_BEFORE_TET).feedback_id
        with session_scope(engine) as s:
            fb.assign(s, fid, actor="canbo_daloc")
            fb.answer(s, fid, actor="canbo_daloc", text="Công an xã đã xử lý việc này.",
                      now=datetime(2026, 2, 25, 16, 30, tzinfo=UTC))
        with session_scope(engine) as s:
            f = fb.figures(s, DALOC, datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC),
                           now=datetime(2026, 3, 2, tzinfo=UTC))
        assert (f.total, f.answered_on_time, f.on_time_percent) == (1, 1, 100.0)
    finally:
        engine.dispose()


def wav(seconds: float, rate: int = 8000, width: int = 1) -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes((b"\x80" if width == 1 else b"\x00\x00") * int(seconds * rate))
    return buf.getvalue()


def test_voice_messages_are_checked_kept_transcribed_and_erased(engine, store, open_session) -> None:
    from engines import asr

    with session_scope(engine) as s:
        with pytest.raises(FeedbackError) as long:
            intake.submit(s, store, sub(voice=wav(600), voice_filename="ghi-am.wav"), now=FRIDAY_BEFORE_TET)
        assert long.value.code == "voice_long" and "10 phút" in str(long.value)
        with pytest.raises(FeedbackError) as corrupt:
            intake.submit(s, store, sub(voice=b"RIFF\x00\x00garbage", voice_filename="x.wav"), now=FRIDAY_BEFORE_TET)
        assert corrupt.value.code == "voice_corrupt"
        with pytest.raises(FeedbackError) as kind:
            intake.submit(s, store, sub(voice=wav(3), voice_filename="x.exe"), now=FRIDAY_BEFORE_TET)
        assert kind.value.code == "voice_type"
    assert list(store.keys()) == []
    with session_scope(engine) as s:
        fid = intake.submit(s, store, sub(voice=wav(3), voice_filename="ghi-am.wav"),
                            now=datetime(2024, 1, 2, tzinfo=UTC)).feedback_id
    heard: list[str] = []

    def fake_whisper(path, language=None):  # type: ignore[no-untyped-def]
        heard.append(path.suffix)
        return asr.Transcript(language="vi", language_probability=1.0, text=" Cột điện sắp đổ ở ấp Phú Hòa. ",
                              segments=(), engine="fake", engine_version="0", model="fake-whisper", model_sha256="",
                              duration_s=3.0, speech_s=3.0)

    assert intake.transcribe_voice(open_session, store, fid, transcribe=fake_whisper) == "Cột điện sắp đổ ở ấp Phú Hòa."
    assert heard == [".wav"]
    with session_scope(engine) as s:
        rec = fb.get_for(s, "canbo_daloc", fid)
        key = rec.voice_key
        assert rec.voice_transcript == "Cột điện sắp đổ ở ấp Phú Hòa." and store.exists(key)
    done = fb.erase_expired(open_session, store, now=datetime(2026, 1, 1, tzinfo=UTC), retention_days=365)
    assert done == fb.Erasure(1, (key,))
    assert not store.exists(key)


def test_a_voice_recording_shared_with_a_newer_item_is_not_deleted(engine, store, open_session) -> None:
    same = wav(2)
    with session_scope(engine) as s:
        intake.submit(s, store, sub(voice=same, voice_filename="a.wav"), now=datetime(2024, 1, 2, tzinfo=UTC))
        newer = intake.submit(s, store, sub(voice=same, voice_filename="b.wav"),
                              now=datetime(2025, 12, 20, tzinfo=UTC)).feedback_id
    done = fb.erase_expired(open_session, store, now=datetime(2026, 1, 1, tzinfo=UTC), retention_days=365)
    assert done == fb.Erasure(1, ())
    with session_scope(engine) as s:
        assert store.exists(fb.get_for(s, "canbo_daloc", newer).voice_key)


def test_rate_limiter_forgets_clients_whose_window_passed() -> None:
    t = [0.0]
    limiter = intake.RateLimiter(1, 60, clock=lambda: t[0])
    for n in range(10_001):
        assert limiter.allow(f"client-{n}")
    t[0] = 61.0
    assert limiter.allow("late")
    assert len(limiter._events) == 1  # noqa: SLF001 (the bound is the behaviour under test)
    assert not limiter.allow("late")


def test_a_bulletins_qr_link_names_its_area_or_the_nearest_area_above_all_of_them(engine) -> None:
    base = "https://bantin.example.vn"
    with session_scope(engine) as s:
        assert intake.feedback_link(s, base, [DALOC], 7) == "https://bantin.example.vn/phan-anh/29377?ban-tin=7"
        # Two communes of Châu Thành district: the district's page.
        assert intake.feedback_link(s, base, [DALOC, MYCHANH], 7) == "https://bantin.example.vn/phan-anh/847?ban-tin=7"
        # Đa Lộc (Trà Vinh) and Phan Thiết (Tuyên Quang) share no area: the first one's page.
        assert intake.feedback_link(s, base, [DALOC, "02200"], 7) == "https://bantin.example.vn/phan-anh/29377?ban-tin=7"
        assert intake.feedback_link(s, base, ["99999"], 7) == ""
