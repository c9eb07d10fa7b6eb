"""Old news and past expiry are flagged; future dates count as fresh."""

from datetime import UTC, date, datetime

from domain.freshness import freshness_warnings

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def test_a_2011_decision_is_flagged_as_old() -> None:
    warnings = freshness_warnings("Quyết định ngày 16/05/2011 về quy hoạch khu dân cư.", article_date=None,
                                  expires_at=None, now=NOW, max_age_days=90)
    assert [w.code for w in warnings] == ["old"]
    assert warnings[0].text() == ("Tin có thể đã cũ: ngày mới nhất trong bản tin là 16/05/2011, cách đây 5684 ngày "
                                  "(quá 90 ngày). Hãy kiểm tra trước khi phát.")
    assert warnings[0].text("en").startswith("Possibly old news: the newest date in the bulletin is 16/05/2011")


def test_the_newest_date_counts_and_the_dateline_too() -> None:
    text = "Căn cứ Quyết định ngày 5 tháng 3 năm 2011, xã họp dân ngày 10/12/2026."
    assert freshness_warnings(text, article_date=None, expires_at=None, now=NOW, max_age_days=90) == ()
    assert freshness_warnings("Căn cứ Quyết định ngày 5 tháng 3 năm 2011.", article_date=date(2026, 11, 30),
                              expires_at=None, now=NOW, max_age_days=90) == ()
    assert freshness_warnings("Họp ngày 01/09/2026.", article_date=None, expires_at=None, now=NOW,
                              max_age_days=90)[0].code == "old"  # 97 days
    assert freshness_warnings("Họp ngày 08/09/2026.", article_date=None, expires_at=None, now=NOW,
                              max_age_days=90) == ()  # 90 days: not more than the limit


def test_past_expiry_is_flagged_and_no_date_is_no_warning() -> None:
    expired = freshness_warnings("Không có ngày.", article_date=None, now=NOW, max_age_days=90,
                                 expires_at=datetime(2026, 12, 6, 10, 0, tzinfo=UTC))
    assert [(w.code, w.vi) for w in expired] == [("expired", "Bản tin đã hết hạn lúc 10:00 06/12/2026.")]
    assert freshness_warnings("Không có ngày.", article_date=None, now=NOW, max_age_days=90,
                              expires_at=datetime(2026, 12, 8, 10, 0, tzinfo=UTC)) == ()
