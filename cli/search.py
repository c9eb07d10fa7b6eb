"""``bantin search`` and ``bantin archive``: find what was broadcast; ingest and re-index the archive."""

import json
import os
import sys
from typing import Annotated, Any

import typer

from cli.common import echo, ensure_db
from domain.search import IngestStatus
from settings import configure_prefect_env, get_settings
from tasks.limits import ML_LIMIT

archive_app = typer.Typer(help="The broadcast archive: ingest old recordings, rebuild the search index.",
                          no_args_is_help=True)

def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


def _marked(fragments: list[tuple[str, bool]], color: bool) -> str:
    if color:
        return "".join(typer.style(t, bold=True, fg="yellow") if hit else t for t, hit in fragments)
    return "".join(f"[{t}]" if hit else t for t, hit in fragments)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(archive_app, name="archive")

    @app.command()
    def search(
        text: Annotated[str, typer.Argument(help='Words, "phrases" and prefix* (diacritics optional).')] = "",
        area: Annotated[str | None, typer.Option(help="Area code or name (its whole subtree).")] = None,
        date_from: Annotated[str | None, typer.Option("--from", help="First day (2024-03-05 or 05/03/2024).")] = None,
        date_to: Annotated[str | None, typer.Option("--to", help="Last day, included.")] = None,
        lang: Annotated[str | None, typer.Option(help="Language code, e.g. vi, km.")] = None,
        priority: Annotated[str | None, typer.Option(help="thuong, uu_tien or khan_cap.")] = None,
        channel: Annotated[str | None, typer.Option(help="loudspeaker or board.")] = None,
        exact: Annotated[bool, typer.Option(help="Match diacritics exactly (xã is not xa).")] = False,
        page: Annotated[int, typer.Option(min=1)] = 1,
        limit: Annotated[int, typer.Option(min=1, max=100, help="Results per page.")] = 20,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Search the archive of broadcasts: texts, summaries and transcripts of every published bulletin
        and ingested recording."""
        from services.archive import SearchRequest, parse_day, search_archive
        from services.runtime import session

        ensure_db()
        req = SearchRequest(text=text, exact=exact, area=area, date_from=parse_day(date_from, "--from"),
                            date_to=parse_day(date_to, "--to"), language=lang, priority=priority, channel=channel,
                            page=page, per_page=limit)
        with session() as s:
            res = search_archive(s, req)
        if as_json:
            echo(json.dumps({"query": res.query.describe(), "total": res.total, "more": res.more,
                             "items": res.items}, ensure_ascii=False, indent=2, default=str))
            return
        color = sys.stdout.isatty()
        more = "+" if res.more else ""
        echo(f"{res.total}{more} result(s) for {res.query.describe() or '(everything)'}"
             + (" [exact]" if exact else ""))
        for item in res.items:
            flag = f"  ** {item['status'].upper()} **" if item["flagged"] else ""
            where = ", ".join(f"{c} {n}" if n != c else c for c, n in zip(item["areas"], item["area_names"],
                                                                           strict=True))
            what = f"package {item['package_id']}" if item["package_id"] else item["source"]
            echo(f"#{item['id']:<6} {item['broadcast_at'][:10]}  [{item['language']}]  {where}  "
                 f"{item['priority'] or '-'}  {item['title']}{flag}")
            echo(f"        {_marked(item['snippet'], color)}")
            for moment in item["moments"]:
                echo(f"        > {_clock(moment['start'])}  {_marked(moment['snippet'], color)}")
            plays = item["plays"]
            if plays["count"]:
                where_played = ", ".join(f"{a['code']} x{a['count']}" for a in plays["areas"][:5])
                echo(f"        played {plays['count']}x on {plays['devices']} device(s) in {where_played}; "
                     f"last {plays['last'][:16].replace('T', ' ')} UTC")
            echo(f"        ({what})")

    @archive_app.command("ingest")
    def ingest(
        source: Annotated[str, typer.Argument(help="A folder, or s3://bucket/prefix on the configured S3 server.")],
        area: Annotated[str, typer.Option(help="Area (code or name) where these recordings were broadcast.")],
        lang: Annotated[str | None, typer.Option(help="Spoken language (default: detect per file).")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="At most this many files.")] = None,
    ) -> None:
        """Transcribe old broadcast recordings (mp3, wav, m4a) into searchable archive entries.

        Safe to rerun: files already archived are skipped, failed ones are tried again."""
        from services.archive import ingest as ingest_service
        from services.areas import code_from_option
        from services.runtime import session

        ensure_db()
        with session() as s:
            area = code_from_option(s, area)  # a code or a name
            ingest_service.check_ingest(s, area, lang)
        total = len(ingest_service.list_recordings(source))
        total = min(total, limit) if limit else total
        settings = get_settings()
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the bar and the summary report progress
        configure_prefect_env(settings)
        from deployments.setup import ensure_ml_limit
        from flows.archive import ingest_recordings, progress_listener

        try:  # without the limit Prefect warns and transcriptions run unthrottled
            ensure_ml_limit(settings.ml_concurrency, resize=False)
        except Exception as exc:  # a Prefect server without global concurrency limits
            echo(f"warning: could not create the {ML_LIMIT} concurrency limit ({exc}); transcribing anyway")

        with typer.progressbar(length=total, label="ingest", show_pos=True, file=sys.stderr) as bar:
            def advance(outcome: dict[str, Any]) -> None:
                if outcome["status"] != "listed":
                    bar.update(1)

            with progress_listener(advance):
                counts = ingest_recordings(source, area, lang, limit)
        echo(f"{counts[IngestStatus.DONE]} transcribed, {counts[IngestStatus.SKIPPED]} already archived, "
             f"{counts[IngestStatus.FAILED]} failed")
        for ref, message in counts["errors"].items():
            echo(f"  failed: {message if message.startswith(ref) else f'{ref}: {message}'}")
        if counts[IngestStatus.FAILED]:
            raise typer.Exit(1)

    @archive_app.command("reindex")
    def reindex() -> None:
        """Rebuild the search index from every published, corrected or withdrawn package and every
        ingested recording."""
        ensure_db()
        configure_prefect_env(get_settings())
        from flows.archive import reindex_archive

        counts = reindex_archive()
        echo(f"indexed {counts['entries']} entries of {counts['packages']} packages and "
             f"{counts['recordings']} recordings")

    @archive_app.command("index")
    def index(package_id: int) -> None:
        """Index one package now (what publishing does), e.g. after a withdrawal."""
        from services.archive import indexing
        from services.runtime import object_store, session

        ensure_db()
        with session() as s:
            ids = indexing.index_package(s, object_store(), package_id)
        echo(f"package {package_id}: {len(ids)} archive entr{'y' if len(ids) == 1 else 'ies'}"
             + ("" if ids else " (not published: nothing to archive)"))
