"""Archive search on SQLite (FTS5) and PostgreSQL (tsvector + GIN): the same answers on both.

Every result set is compared with the pure reference semantics (``domain.search.matches``) over a small
corpus that exercises diacritics, ``đ``, phrases, prefixes, area subtrees, dates and facets.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.search import FacetFilter, matches, parse_query
from services import archive as archive_service
from services.archive import SearchRequest, search_archive
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.repositories import archive, areas
from storage.search import IndexDoc, backend_for
from storage.search import sqlite as sqlite_search
from tests.legacy_areas import insert_legacy_areas

# (key, area, language, priority, channels, date, title, text)
CORPUS = [
    ("tiem", "29377", "vi", "uu_tien", ["loudspeaker"], date(2024, 3, 5),
     "Lịch tiêm chủng", "UBND xã Đa Lộc thông báo lịch tiêm chủng mở rộng cho trẻ em dưới 5 tuổi."),
    ("bao", "29380", "vi", "khan_cap", ["loudspeaker", "board"], date(2025, 9, 1),
     "Phòng chống bão số 3", "Ủy ban nhân dân xã Mỹ Chánh yêu cầu người dân chằng chống nhà cửa trước bão. "
     "Bão số 3 đổ bộ đêm nay; bão mạnh cấp 12."),
    ("khmer", "29377", "km", "uu_tien", ["loudspeaker"], date(2024, 3, 5),
     "Lịch tiêm chủng", "ការចាក់វ៉ាក់សាំង សម្រាប់កុមារ UBND xa Da Loc"),
    ("tinh", "84", "vi", "thuong", ["board"], date(2023, 1, 10),
     "Xà lan trên sông", "Tỉnh Trà Vinh thông báo cấm xà lan chở cát trên sông Cổ Chiên."),
    ("tq", "02200", "vi", "thuong", ["loudspeaker"], date(2025, 1, 1),
     "Tiêm phòng", "UBND xã thông báo tiêm phòng dại cho chó mèo, đường Đinh Tiên Hoàng."),
    ("old", "29374", "vi", None, ["loudspeaker"], date(2012, 6, 1),
     "ghi am 2012 06 01", "Đài truyền thanh thị trấn Châu Thành: lịch tiêm chủng tháng sáu."),
]
NOW = datetime(2025, 10, 1, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        for n, (key, area, lang, prio, channels, day, title, text) in enumerate(CORPUS):
            archive.upsert_entry(s, archive.EntryData(
                kind="package" if prio else "recording", language=lang, title=title,
                sections=[{"kind": "script", "text": text}], area_codes=[area], status="published",
                broadcast_at=datetime(day.year, day.month, day.day, 5, tzinfo=UTC), priority=prio, channels=channels,
                source_name=key, source_sha256=f"{n:064x}",
                segments=[[12.5, 17.0, text]] if not prio else []), salt=n)
    with session_scope(engine) as s:
        yield s
    engine.dispose()


def found(s: Session, text: str = "", **filters: object) -> list[str]:
    res = search_archive(s, SearchRequest(text=text, **filters), now=NOW)  # type: ignore[arg-type]
    return [item["source"] for item in res.items]


def expected(text: str, *, exact: bool = False, keep: set[str] | None = None) -> set[str]:
    q = parse_query(text, exact=exact)
    return {row[0] for row in CORPUS if matches(f"{row[6]}\n{row[7]}", q) and (keep is None or row[0] in keep)}


QUERIES = ["ubnd xa", "UBND xã", "xa", "xã", '"xa da loc"', '"da loc xa"', "tiem*", "tiêm chủng", "bao so 3",
           '"bão số"', "dinh tien hoang", "đinh", "ការចាក់វ៉ាក់សាំង", "kh", "tiem* -phong", "", "\"cat\" OR 1=1"]


def test_khmer_queries_find_khmer_text(db: Session) -> None:
    assert found(db, "សម្រាប់កុមារ") == ["khmer"]
    assert found(db, "សម្រាប់កុមារ", exact=True) == ["khmer"]
    assert found(db, "ការចាក់*") == ["khmer"]
    assert found(db, "ក") == []  # once the text's words fell apart into single letters, and this matched


def test_results_follow_the_reference_semantics(db: Session) -> None:
    for exact in (False, True):
        for text in QUERIES:
            assert set(found(db, text, exact=exact)) == expected(text, exact=exact), (text, exact)
    assert set(found(db, "ubnd xa")) == {"tiem", "khmer", "tq"}  # diacritic-insensitive by default
    assert set(found(db, "UBND xã", exact=True)) == {"tiem", "tq"}
    assert set(found(db, "xã", exact=True)) == {"tiem", "bao", "tq"}  # "xà lan" is not "xã"
    assert set(found(db, "xa")) == {"tiem", "bao", "khmer", "tinh", "tq"}


# Phrases go through word-pair tokens on SQLite: every pair present but not the phrase, across the title and
# the text, prefixes on the last word, and a diacritic that only exact mode sees.
PHRASES = ['"truoc bao manh"', '"nguoi dan xa"', '"nhan dan xa"', '"chong bao so 3"', '"so 3 do bo"', '"bao so*"',
           '"ubnd xa d"*', '"lich tiem chung ubnd"', '"xà lan"', '"xa lan"', '"bão số 3"', '"bao m"*', '"xa xa"']


def test_phrases_follow_the_reference_semantics(db: Session) -> None:
    for exact in (False, True):
        for text in PHRASES:
            assert set(found(db, text, exact=exact)) == expected(text, exact=exact), (text, exact)
    assert set(found(db, '"nhan dan xa"')) == {"bao"} and not found(db, '"truoc bao manh"')
    assert set(found(db, '"xa lan"')) == {"tinh"} and not found(db, '"xa lan"', exact=True)


@pytest.mark.parametrize("probe", [500, 2])
def test_long_phrases_need_more_than_their_pairs(db: Session, probe: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row holding every pair of "a b c" but not the phrase is no match, and ``cap`` real matches are still
    found, newest first: with few candidates (confirmed on the stored words) and many (FTS5 phrase, on SQLite)."""
    monkeypatch.setattr(sqlite_search, "PROBE", probe)
    docs = {k: ["a", "b", "x", "b", "c"] if k % 3 else ["z", "a", "b", "c"] for k in range(1, 31)}
    backend = backend_for(db)
    backend.put(db, [IndexDoc(k, w, w, ["_all"]) for k, w in docs.items()])
    query = parse_query('"a b c"')
    hits = backend.search(db, query, FacetFilter(), cap=4)
    assert [h.doc_key for h in hits] == [30, 27, 24, 21]
    everything = backend.search(db, query, FacetFilter(), lo=1, cap=200)
    assert [h.doc_key for h in everything] == [k for k in sorted(docs, reverse=True) if k % 3 == 0]
    assert [h.doc_key for h in backend.search(db, parse_query('"b x b"'), FacetFilter(), lo=1, hi=29)] == [
        k for k in range(29, 0, -1) if k % 3]
    assert [h.doc_key for h in backend.search(db, parse_query('"z a b c"'), FacetFilter(), lo=4, hi=20)] == [
        k for k in range(18, 3, -3)]
    assert not backend.search(db, parse_query('"a b c x"'), FacetFilter())


def test_filters(db: Session) -> None:
    # A district's subtree, plus the province-wide bulletin that was broadcast there too.
    assert set(found(db, area="847")) == {"tiem", "bao", "khmer", "tinh", "old"}
    assert set(found(db, area="29377")) == {"tiem", "khmer", "tinh"}
    assert set(found(db, area="84")) == {"tiem", "bao", "khmer", "tinh", "old"}
    assert set(found(db, "tiem*", area="847", language="vi")) == {"tiem", "old"}
    assert set(found(db, language="km")) == {"khmer"}
    assert set(found(db, priority="khẩn cấp")) == {"bao"}
    assert set(found(db, channel="board")) == {"bao", "tinh"}
    assert set(found(db, date_from=date(2024, 3, 5), date_to=date(2024, 3, 5))) == {"tiem", "khmer"}
    assert set(found(db, "tiem*", date_from=date(2024, 1, 1))) == {"tiem", "khmer", "tq"}
    assert set(found(db, "tiem*", date_to=date(2013, 1, 1))) == {"old"}
    newest_first = [i["broadcast_at"] for i in search_archive(db, SearchRequest(), now=NOW).items]
    assert len(newest_first) == len(CORPUS) and newest_first == sorted(newest_first, reverse=True)


def test_ranking_snippets_and_audio_moments(db: Session) -> None:
    res = search_archive(db, SearchRequest(text="tiem chung"), now=NOW)
    order = [i["source"] for i in res.items]
    assert set(order) == {"tiem", "khmer", "old"} and order[-1] == "old"  # the 2012 recording ranks last
    first = next(i for i in res.items if i["source"] == "tiem")
    assert [t for t, hit in first["snippet"] if hit] == ["tiêm", "chủng"]
    old = next(i for i in res.items if i["source"] == "old")
    assert old["moments"][0]["start"] == 12.5 and any(hit for _, hit in old["moments"][0]["snippet"])
    assert res.total == 3 and not res.more


def test_visibility_and_bad_input(db: Session) -> None:
    district = {"847", "29374", "29377", "29380"}
    res = search_archive(db, SearchRequest(text="xa"), visible=district, now=NOW)
    assert {i["source"] for i in res.items} == {"tiem", "bao", "khmer"}  # not the province's, not Tuyên Quang's
    assert search_archive(db, SearchRequest(text="xa"), visible=set()).items == []
    for text in ['"', "*", "NEAR(", "{folded}:x", "'; DROP TABLE archive_entries; --", "a:*|b", "\\", "xa^2 -- (",
                 "tiem* AND NOT bao"]:
        assert set(found(db, text)) == expected(text), text
    with pytest.raises(InvalidInput, match="unknown area"):
        found(db, "xa", area="99999")
    with pytest.raises(InvalidInput, match="unknown area"):
        found(db, "xa", area="84' OR '1'='1")
    with pytest.raises(InvalidInput, match="at most 500"):
        found(db, "tiêm " * 200)
    with pytest.raises(InvalidInput, match="unknown language"):
        found(db, language="zz")
    with pytest.raises(InvalidInput, match="after"):
        found(db, date_from=date(2025, 1, 2), date_to=date(2025, 1, 1))
    assert archive.count_entries(db) == len(CORPUS)  # nothing was dropped


def test_reindexing_is_idempotent(db: Session) -> None:
    ids = archive.all_entry_ids(db)
    archive.reindex_entries(db, ids)
    archive.reindex_entries(db, ids)
    assert archive.count_indexed(db) == len(CORPUS)
    assert set(found(db, "ubnd xa")) == {"tiem", "khmer", "tq"}
    rec = archive.find_entry(db, source_sha256=f"{0:064x}")
    assert rec is not None
    archive.set_status(db, rec, "withdrawn")
    item = next(i for i in search_archive(db, SearchRequest(text="ubnd"), now=NOW).items if i["source"] == "tiem")
    assert item["status"] == "withdrawn" and item["flagged"]
    assert archive_service.CANDIDATES >= 100


def skip_fts_index(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """``include_object`` for autogenerate: the backend-specific index tables are not in the models."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return not (table is not None and str(table.name).startswith("archive_fts"))


def test_migrations_match_the_models_apart_from_the_index(database_url: str) -> None:
    """The only difference between models and migrations is the backend-specific index ``archive_fts``
    (the change proposed for tests/storage/test_repositories.py::test_migrations_match_the_models)."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    upgrade(database_url)
    upgrade(database_url)  # safe to rerun
    eng = make_engine(database_url)
    with warnings.catch_warnings(), eng.connect() as conn:
        warnings.simplefilter("ignore")
        everything = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        diff = compare_metadata(MigrationContext.configure(conn, opts={"include_object": skip_fts_index}),
                                Base.metadata)
    eng.dispose()
    assert everything and diff == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_upgrading_postgresql_adds_word_pairs_to_entries_indexed_before(database_url: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Revision 0007 adds the pair columns and fills them for every entry indexed by the 0004-0006 code, so
    phrases find old entries too (SQLite's FTS5 table has held pairs since 0004)."""
    from sqlalchemy import inspect, text

    from storage.search import postgresql as pg

    upgrade(database_url, "0006")
    engine = make_engine(database_url)
    old_upsert = text("INSERT INTO archive_fts(doc_key, folded, exact) VALUES (:k, CAST(:f AS tsvector), "
                      "CAST(:e AS tsvector))")  # what the old code wrote: words and facets only
    monkeypatch.setattr(pg, "UPSERT", old_upsert)
    with engine.begin() as conn:
        insert_legacy_areas(conn)
    with session_scope(engine) as s:
        archive.upsert_entry(s, archive.EntryData(
            kind="recording", language="vi", title="ghi âm", sections=[{"kind": "transcript",
                                                                        "text": "UBND xã Đa Lộc thông báo"}],
            area_codes=["29377"], status="archived", broadcast_at=NOW, priority=None, channels=["loudspeaker"],
            source_name="old", source_sha256="a" * 64, segments=[]), salt=1)
    monkeypatch.undo()
    assert "folded_pairs" not in {c["name"] for c in inspect(engine).get_columns("archive_fts")}
    upgrade(database_url)
    with session_scope(engine) as s:
        assert found(s, '"xa da loc"') == ["old"] and found(s, '"ubnd xa"*') == ["old"]
        assert found(s, '"da xa"') == [] and found(s, "da loc") == ["old"]
    engine.dispose()


def test_after_the_2025_move_a_commune_finds_what_was_filed_under_the_units_it_absorbed(db: Session) -> None:
    from services.area_migration import migrate_to_2025

    assert set(found(db, area="29377")) == {"tiem", "khmer", "tinh"}  # before: Đa Lộc and Trà Vinh-wide items
    report = migrate_to_2025(db, actor="root", dry_run=False, now=NOW)
    assert report.written and report.retired > 0
    db.flush()
    # Xã Châu Thành (Vĩnh Long) absorbed Đa Lộc, Mỹ Chánh and the old town of Châu Thành: their items, and
    # Trà Vinh-wide ones broadcast there, are its history; items keep the codes they were filed under.
    chau_thanh = {"tiem", "khmer", "bao", "old", "tinh"}
    assert set(found(db, area="29374")) == chau_thanh
    assert set(found(db, area="Châu Thành, Vĩnh Long")) == chau_thanh
    assert set(found(db, area="29377")) == {"tiem", "khmer", "tinh", "old"}  # the old code finds its successor's
    assert set(found(db, area="02200")) == {"tq"}  # Tuyên Quang: untouched by Vĩnh Long's history
    khmer = next(i for i in search_archive(db, SearchRequest(text="", area="29374"), now=NOW).items
                 if i["source"] == "khmer")
    assert khmer["areas"] == ["29377"] and khmer["area_names"] == ["Xã Đa Lộc (nay thuộc Xã Châu Thành)"]
