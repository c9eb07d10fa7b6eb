"""Archive search at scale: index build time and query latency on SQLite (FTS5) and PostgreSQL (tsvector/GIN).

Synthetic archive. Entries are made of real Vietnamese: a word-bigram Markov chain trained on the VLSP 2013
news test set that ships with underthesea (68k words of newspaper text, ``pos_tag/.../test_output.txt``),
so word frequencies and co-occurrences are natural; each entry also gets a bulletin sentence built from a
template with a real commune, district or province name from the area seed ("UBND Xã Đa Lộc thông báo lịch
tiêm chủng từ 7 giờ đến 11 giờ ngày 5/12"), and a title. 40-160 words per entry; areas drawn from the seed
(every commune of the five pilot provinces, 15 % district- or province-wide); 85 % Vietnamese, the rest
labelled km/jra/tyz (same generator: only the facet differs); priorities 80/15/5 %; broadcast times
uniform over 2018-2026; seeded, so every run builds the same archive.

Build. Entries are bulk-loaded with the same token streams the application indexes
(``storage.repositories.archive.index_doc``): executemany into FTS5 then ``optimize`` on SQLite; COPY
without indexes then ``CREATE INDEX ... USING gin`` on PostgreSQL. Text generation is not timed.

Queries go through ``services.archive.search_archive`` (parse, full-text match of at most 200 candidates,
ranking, loading the page of 20, snippets), a new session each, as a web request does. Six types, each
typed without diacritics as officers do: one mid-frequency word; two very frequent words (AND, hundreds of
thousands of matches at 1M); a quoted 2-3 word phrase taken from the corpus; a 3-4 letter prefix*; a
frequent word filtered by district subtree + one year + language; and a rare word (every match must be
found, not just the newest 200). The baseline, run in the same process, is the rare-word question answered
without the index (a scan of the stored folded text with ``instr``/
``strpos``), to show what the index buys (ratio column). The phrase queries are also run at the index alone
both ways on the same data: by word pairs (now) and by word positions only (before), with their ratio.

Usage: .venv/bin/python benchmarks/search.py --entries 100000 [--db sqlite|postgresql|both]
         [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--queries 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from domain.search import FacetFilter, area_tokens, facet_tokens, fold, parse_query, tokens  # noqa: E402
from services.archive import SearchRequest, search_archive  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models_archive import ArchiveEntryRecord  # noqa: E402
from storage.repositories import archive, areas  # noqa: E402
from storage.search import IndexDoc, doc_key  # noqa: E402
from storage.search import postgresql as pg_search  # noqa: E402
from storage.search import sqlite as sqlite_search  # noqa: E402
from storage.search.postgresql import PostgresBackend  # noqa: E402

SEED = 20261123
START, END = datetime(2018, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
TOPICS = ["lịch tiêm chủng mở rộng", "cắt điện để bảo trì lưới điện", "phòng chống bão và áp thấp nhiệt đới",
          "phòng chống dịch sốt xuất huyết", "thu thuế sử dụng đất phi nông nghiệp",
          "bầu cử đại biểu Hội đồng nhân dân",
          "tuyển quân nghĩa vụ quân sự", "cấp căn cước công dân", "phòng cháy chữa cháy rừng", "lũ quét và sạt lở đất",
          "hỗ trợ hộ nghèo", "chuyển đổi cơ cấu cây trồng", "tiêm phòng dại cho chó mèo", "nước sạch nông thôn",
          "an toàn giao thông dịp Tết", "đăng ký khai sinh", "xâm nhập mặn", "kế hoạch gieo sạ lúa vụ đông xuân"]
UNITS = ["UBND", "Ủy ban nhân dân", "Trạm y tế", "Công an", "Ban chỉ huy quân sự", "Điện lực", "Hội Nông dân"]
VERBS = ["thông báo", "đề nghị bà con", "khuyến cáo người dân về", "triển khai", "yêu cầu các hộ thực hiện"]


def corpus_sentences() -> list[list[str]]:
    """Sentences of real Vietnamese news (VLSP 2013 test set in underthesea), as word lists."""
    import underthesea

    path = next(Path(underthesea.__file__).parent.glob("pipeline/pos_tag/models/*/test_output.txt"), None)
    if path is None:
        sys.exit("underthesea's VLSP 2013 test output was not found; it is the benchmark's source of text")
    sentences, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("\t")[0].strip()
        if not word:
            if len(cur) > 4:
                sentences.append(cur)
            cur = []
        else:
            cur.append(word)
    return sentences


class Generator:
    """Seeded synthetic archive entries (see the module docstring)."""

    def __init__(self, area_rows: dict[str, tuple[str, str]]) -> None:
        self.rng = random.Random(SEED)
        self.sentences = corpus_sentences()
        self.next: dict[str, list[str]] = {}
        counts: Counter[str] = Counter()
        for sent in self.sentences:
            counts.update(sent)
            for a, b in zip(["<s>", *sent], [*sent, "</s>"], strict=True):
                self.next.setdefault(a, []).append(b)
        self.words = [w for w, _ in counts.most_common() if any(ch.isalpha() for ch in w)]
        self.areas = list(area_rows.items())
        self.communes = [c for c, (_, level) in self.areas if level == "commune"]
        self.wide = [c for c, (_, level) in self.areas if level != "commune"]
        self.names = area_rows

    def sentence(self, max_words: int) -> str:
        out, word = [], "<s>"
        while len(out) < max_words:
            word = self.rng.choice(self.next[word])
            if word == "</s>":
                break
            out.append(word)
        return " ".join(out)

    def build_pool(self, size: int = 30000) -> None:
        """Markov sentences to draw entries from, each with its tokens (made by the application's own
        ``domain.search.tokens``) so a million entries need not be tokenised again word by word."""
        self.pool = [self.sentence(30) + "." for _ in range(size)]
        self.pool_tokens = [(tokens(t), tokens(t, exact=True)) for t in self.pool]
        self.pool_words = [len(t.split()) for t in self.pool]

    def entry(self, n: int) -> tuple[dict[str, object], tuple[list[str], list[str]]]:
        """An entry and its (folded, exact) word tokens, equal to what ``make_index_doc`` would make."""
        r = self.rng
        area = r.choice(self.wide) if r.random() < 0.15 else r.choice(self.communes)
        topic = r.choice(TOPICS)
        at = START + timedelta(seconds=r.randrange(int((END - START).total_seconds())))
        h = r.randrange(6, 18)
        bulletin = (f"{r.choice(UNITS)} {self.names[area][0]} {r.choice(VERBS)} {topic} từ {h} giờ đến {h + 2} giờ "
                    f"ngày {at.day}/{at.month}.")
        title = f"Thông báo {topic}"
        head = f"{title}\n{bulletin}"
        folded, exact = tokens(head), tokens(head, exact=True)
        target, words, body = r.randrange(40, 160), len(bulletin.split()), [bulletin]
        while words < target:
            i = r.randrange(len(self.pool))
            body.append(self.pool[i])
            folded += self.pool_tokens[i][0]
            exact += self.pool_tokens[i][1]
            words += self.pool_words[i]
        lang = "vi" if r.random() < 0.85 else r.choice(["km", "jra", "tyz"])
        prio = r.choices(["thuong", "uu_tien", "khan_cap"], [80, 15, 5])[0]
        row = {"id": n, "doc_key": doc_key(at, n), "kind": "package", "language": lang,
               "title": title, "sections": [{"kind": "script", "text": " ".join(body)}],
               "segments": [], "area_codes": [area], "priority": prio,
               "channels": r.choice([["loudspeaker"], ["loudspeaker", "board"], ["board"]]), "status": "published",
               "broadcast_at": at, "source_name": f"bench {n}", "meta": {}, "indexed_at": at}
        return row, (folded, exact)


def batches(gen: Generator, total: int, size: int) -> Iterator[list[tuple[dict[str, object], tuple[list[str],
                                                                                                   list[str]]]]]:
    for start in range(1, total + 1, size):
        yield [gen.entry(n) for n in range(start, min(total, start + size - 1) + 1)]


PG_COLUMNS = ("folded", "exact", "folded_pairs", "exact_pairs")  # archive_fts, each with a GIN index
INDEXED = ("doc_key", "title", "sections", "area_codes", "language", "priority", "channels", "status", "kind")


def index_rows(pairs: list[tuple[dict[str, object], tuple[list[str], list[str]]]],
               anc: dict[str, list[str]]) -> list[tuple[int, list[str], list[str], list[str]]]:
    """Index documents: the generator's tokens, facets as the application makes them."""
    return [(int(row["doc_key"]), folded, exact,  # type: ignore[call-overload]
             facet_tokens(areas=area_tokens(row["area_codes"], anc), language=row["language"],  # type: ignore[arg-type]
                          priority=row["priority"], channels=row["channels"], status="published",  # type: ignore[arg-type]
                          kind="package"))
            for row, (folded, exact) in pairs]


def tokenize_cost(pairs: list[tuple[dict[str, object], tuple[list[str], list[str]]]],
                  anc: dict[str, list[str]]) -> float:
    """CPU microseconds per entry of the application's own ``make_index_doc`` (after checking that the
    generator's shortcut gives exactly its tokens)."""
    t0 = time.process_time()
    docs = [archive.make_index_doc(ancestors=anc, **{k: row[k] for k in INDEXED})  # type: ignore[arg-type]
            for row, _ in pairs]
    cost = (time.process_time() - t0) / len(pairs) * 1e6
    for doc, (_, (folded, exact)) in zip(docs, pairs, strict=True):
        assert doc.folded == folded and doc.exact == exact, "the generator's tokens differ from the application's"
    return cost


def build_sqlite(engine: Engine, gen: Generator, total: int, anc: dict[str, list[str]]) -> dict[str, float]:
    table = ArchiveEntryRecord.__table__
    gen_s = load_s = 0.0
    for_batch = 5000
    it = batches(gen, total, for_batch)
    while True:
        t0 = time.perf_counter()
        rows = next(it, None)
        gen_s += time.perf_counter() - t0
        if rows is None:
            break
        t0 = time.perf_counter()
        docs = index_rows(rows, anc)
        with engine.begin() as conn:
            conn.execute(insert(table), [row for row, _ in rows])
            conn.execute(sqlite_search.INSERT, [sqlite_search.row_values(k, f, e, t) for k, f, e, t in docs])
        load_s += time.perf_counter() - t0
        progress(rows[-1][0]["id"], total)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO archive_fts(archive_fts) VALUES ('optimize')")
    index_s = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return {"load_s": load_s, "index_s": index_s, "generate_s": gen_s}


def build_postgres(engine: Engine, gen: Generator, total: int, anc: dict[str, list[str]]) -> dict[str, float]:
    cols = ["id", "doc_key", "kind", "language", "title", "sections", "segments", "area_codes", "priority", "channels",
            "status", "broadcast_at", "source_name", "meta", "indexed_at"]
    gen_s = load_s = 0.0
    with engine.begin() as conn:
        conn.exec_driver_sql("; ".join(f"DROP INDEX archive_fts_{c}_gin" for c in PG_COLUMNS))
    it = batches(gen, total, 5000)
    while True:
        t0 = time.perf_counter()
        rows = next(it, None)
        gen_s += time.perf_counter() - t0
        if rows is None:
            break
        t0 = time.perf_counter()
        docs = index_rows(rows, anc)
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY archive_entries ({', '.join(cols)}) FROM STDIN") as copy:
                for row, _ in rows:
                    copy.write_row([json.dumps(row[c], ensure_ascii=False) if isinstance(row[c], (list, dict))
                                    else row[c] for c in cols])
            with cur.copy(f"COPY archive_fts (doc_key, {', '.join(PG_COLUMNS)}) FROM STDIN") as copy:
                for k, f, e, t in docs:
                    values = pg_search.row_values(IndexDoc(k, f, e, t))
                    copy.write_row([k, values["f"], values["e"], values["fp"], values["ep"]])
            raw.commit()
        finally:
            raw.close()
        load_s += time.perf_counter() - t0
        progress(rows[-1][0]["id"], total)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")
        for c in PG_COLUMNS:
            conn.exec_driver_sql(f"CREATE INDEX archive_fts_{c}_gin ON archive_fts USING gin ({c})")
    index_s = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE archive_fts; ANALYZE archive_entries")
    return {"load_s": load_s, "index_s": index_s, "generate_s": gen_s}


def progress(done: int, total: int) -> None:
    if done % 50000 < 5000 or done == total:
        print(f"  {done}/{total}", file=sys.stderr, flush=True)


def query_sets(gen: Generator, n: int) -> dict[str, list[SearchRequest]]:
    r = random.Random(SEED + 1)
    mid = [fold(w) for w in gen.words[200:3000] if " " not in w and len(w) > 2]
    rare = [fold(w) for w in gen.words[len(gen.words) // 2:] if " " not in w and len(w) > 3 and w.isalpha()]
    top = [fold(w) for w in gen.words[:60] if len(w) > 1]
    districts = [c for c, (_, level) in gen.areas if level == "district"]

    def phrase() -> str:
        while True:
            words = r.choice(gen.sentences)
            words = [w for w in words if any(ch.isalpha() for ch in w)]
            if len(words) >= 3:
                i = r.randrange(len(words) - 2)
                return '"' + fold(" ".join(words[i:i + r.choice([2, 3])])) + '"'

    def year() -> tuple[date, date]:
        y = r.randrange(2018, 2026)
        return date(y, 1, 1), date(y, 12, 31)

    sets: dict[str, list[SearchRequest]] = {"word": [], "common AND": [], "phrase": [], "prefix*": [], "filtered": [],
                                            "rare word": []}
    for _ in range(n):
        sets["word"].append(SearchRequest(text=r.choice(mid)))
        sets["rare word"].append(SearchRequest(text=r.choice(rare)))
        sets["common AND"].append(SearchRequest(text=" ".join(r.sample(["ubnd", "thong bao", "xa", "tu", "ngay",
                                                                        "gio", *top[:20]], 2))))
        sets["phrase"].append(SearchRequest(text=phrase()))
        word = r.choice([w for w in mid if len(w) >= 4])
        sets["prefix*"].append(SearchRequest(text=word[:r.choice([3, 4])] + "*"))
        lo, hi = year()
        sets["filtered"].append(SearchRequest(text=r.choice(top[:30]), area=r.choice(districts), date_from=lo,
                                              date_to=hi, language="vi"))
    return sets


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(engine: Engine, reqs: list[SearchRequest]) -> tuple[list[float], list[float], float]:
    """Wall-clock and this process's CPU milliseconds per query, and the mean number of matches."""
    for req in reqs[:5]:  # warm caches
        with session_scope(engine) as s:
            search_archive(s, req)
    times, cpu, hits = [], [], []
    for req in reqs:
        t0, c0 = time.perf_counter(), time.process_time()
        with session_scope(engine) as s:
            res = search_archive(s, req)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        hits.append(res.total)
    return times, cpu, statistics.mean(hits)


def baseline(engine: Engine, reqs: list[SearchRequest], dialect: str) -> list[float]:
    """The rare-word question without the index: scan every entry's folded text."""
    sql = ("SELECT rowid FROM archive_fts WHERE instr(' ' || folded || ' ', :w) > 0 ORDER BY rowid DESC LIMIT 200"
           if dialect == "sqlite" else
           "SELECT doc_key FROM archive_fts WHERE strpos(folded::text, :w) > 0 ORDER BY doc_key DESC LIMIT 200")
    times = []
    for req in reqs:
        word = f" {req.text} " if dialect == "sqlite" else f"'{req.text}'"
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text(sql), {"w": word}).all()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def phrase_before_after(engine: Engine, reqs: list[SearchRequest], name: str) -> list[str]:
    """The phrase queries at the index alone (200 newest matches and their relevance): matched through
    word-pair tokens (now) and by word positions only (before: FTS5 phrases, tsquery ``<->``). Each query runs
    both ways once to warm the cache, then both are timed, in alternating order; both must find the same
    entries."""
    backend: Callable[..., Any] = sqlite_search.SqliteBackend if name == "sqlite" else PostgresBackend
    backends = {"pairs": backend(), "positions": backend(pairs=False)}
    times: dict[str, list[float]] = {"pairs": [], "positions": []}
    cpu: dict[str, list[float]] = {"pairs": [], "positions": []}
    for n, req in enumerate(reqs):
        query = parse_query(req.text)
        found: dict[str, list[int]] = {}
        for label in [*backends, *(reversed(backends) if n % 2 else backends)]:
            with session_scope(engine) as s:
                t0, c0 = time.perf_counter(), time.process_time()
                found[label] = [h.doc_key for h in backends[label].search(s, query, FacetFilter())]
                times[label].append((time.perf_counter() - t0) * 1000)
                cpu[label].append((time.process_time() - c0) * 1000)
        assert found["pairs"] == found["positions"], f"pairs and positions disagree on {req.text}"
    lines = []
    before = "FTS5 phrase" if name == "sqlite" else "tsquery <->"
    for label, what in (("positions", f"{before} (before)"), ("pairs", "word pairs (now)")):
        t, c = times[label][1::2], cpu[label][1::2]  # the timed (second) run of each query
        lines.append(f"| {name} | phrase, index only: {what} | {len(t)} queries, warm cache, same results | "
                     f"{pct(t, 50):.1f} | {pct(t, 95):.1f} | {pct(t, 99):.1f} | CPU p50 {pct(c, 50):.1f} / "
                     f"p95 {pct(c, 95):.1f} / p99 {pct(c, 99):.1f} |")
    b, p = cpu["positions"][1::2], cpu["pairs"][1::2]
    if name == "sqlite":  # the work is in this process
        lines.append(f"| sqlite | phrase, index only: ratio | | | | | CPU p50 {pct(b, 50) / pct(p, 50):.1f}x, "
                     f"p95 {pct(b, 95) / pct(p, 95):.1f}x, p99 {pct(b, 99) / pct(p, 99):.1f}x less with pairs |")
    else:  # the work is in the server: compare wall-clock times
        b, p = times["positions"][1::2], times["pairs"][1::2]
        lines.append(f"| {name} | phrase, index only: ratio | | | | | wall p50 {pct(b, 50) / pct(p, 50):.1f}x, "
                     f"p95 {pct(b, 95) / pct(p, 95):.1f}x, p99 {pct(b, 99) / pct(p, 99):.1f}x less with pairs |")
    return lines


def run(name: str, url: str, total: int, n_queries: int, baseline_n: int, reuse: bool = False) -> list[str]:
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        areas.upsert_areas(s, areas.read_area_csv(seed=areas.LEGACY_SEED))
        anc = archive.ancestors_map(s)
        rows = {c: (a.name, a.level.value) for c, a in areas.all_areas(s).items()}
        have = archive.count_entries(s)
    gen = Generator(rows)
    gen.build_pool()
    token_us = tokenize_cost([gen.entry(n) for n in range(1, 3001)], anc)
    gen = Generator(rows)  # the same seeded archive whatever the sample above drew
    gen.build_pool()
    if reuse and have:
        if have != total:  # an interrupted build: finish its index, then measure what is there
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO archive_fts(archive_fts) VALUES ('optimize')")
                conn.exec_driver_sql("ANALYZE")
        lines = [f"| {name} | build | {have:,} entries | (reused an archive built earlier) | | | |"]
    else:
        print(f"{name}: building {total} entries ...", file=sys.stderr, flush=True)
        build: Callable[..., dict[str, float]] = build_sqlite if name == "sqlite" else build_postgres
        timing = build(engine, gen, total, anc)
        built = timing["load_s"] + timing["index_s"]
        lines = [f"| {name} | build | {total:,} entries | load {timing['load_s']:.0f} s + index "
                 f"{timing['index_s']:.0f} s = {built:.0f} s ({total / built:,.0f} entries/s), plus tokenising "
                 f"{token_us:.0f} us/entry = {token_us * total / 1e6:.0f} s CPU (text generation "
                 f"{timing['generate_s']:.0f} s not counted) | | | |"]
    sets = query_sets(gen, n_queries)
    base = baseline(engine, sets["rare word"][:baseline_n], name)
    for qtype, reqs in sets.items():
        times, cpu, hits = measure(engine, reqs)
        lines.append(f"| {name} | {qtype} | {len(reqs)} queries, mean {hits:.0f} matches (cap 200) | "
                     f"{pct(times, 50):.1f} | {pct(times, 95):.1f} | {pct(times, 99):.1f} | "
                     f"CPU p50 {pct(cpu, 50):.1f} / p95 {pct(cpu, 95):.1f} |")
    lines += phrase_before_after(engine, sets["phrase"], name)
    same, _, _ = measure(engine, sets["rare word"][:baseline_n])  # the index on the baseline's own queries
    lines.append(f"| {name} | baseline: rare word without index | {len(base)} queries | {pct(base, 50):.1f} | "
                 f"{pct(base, 95):.1f} | {pct(base, 99):.1f} | the index answers the same queries "
                 f"{pct(base, 50) / pct(same, 50):.0f}x faster at p50, {pct(base, 95) / pct(same, 95):.0f}x at p95 |")
    engine.dispose()
    return lines


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `kill` still drops the scratch database
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=20000)
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="an admin URL: a scratch database is created next to it and dropped afterwards")
    ap.add_argument("--queries", type=int, default=100, help="queries per type")
    ap.add_argument("--baseline-queries", type=int, default=10)
    ap.add_argument("--keep", type=Path, help="build the SQLite file here and keep it")
    ap.add_argument("--reuse", action="store_true",
                    help="with --keep: query the kept file (archive-<entries>.db) as it is, without building")
    args = ap.parse_args()
    lines = ["| database | query type | workload | p50 ms | p95 ms | p99 ms | note (CPU ms of this process) |",
             "|---|---|---|---|---|---|---|"]
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bantin-bench-") as tmp:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            db_file = folder / f"archive-{args.entries}.db"
            if not args.reuse:
                db_file.unlink(missing_ok=True)
            lines += run("sqlite", f"sqlite:///{db_file}", args.entries, args.queries, args.baseline_queries,
                         reuse=args.reuse)
            size = db_file.stat().st_size / 2**20
            lines.append(f"| sqlite | size | | {size:,.0f} MB | | | |")
    if args.db in ("postgresql", "both"):
        name = f"bantin_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            lines += run("postgresql", url, args.entries, args.queries, args.baseline_queries)
            with admin.connect() as conn:
                size = conn.execute(text("SELECT pg_database_size(:n)"), {"n": name}).scalar_one() / 2**20
            lines.append(f"| postgresql | size | | {size:,.0f} MB | | | |")
        finally:
            from storage.db import get_engine

            get_engine.cache_clear()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
