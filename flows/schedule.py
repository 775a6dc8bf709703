"""Scheduled runs: one deployment of the ingest flow per schedule in the watch list, served by this process."""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from datetime import timedelta

from sqlalchemy.engine import make_url

from db.engine import init_db, make_engine
from db.watchlist import list_sources
from flows.ingest import ingest_flow
from pipeline.errors import KBError
from pipeline.settings import Settings


def _public_url(url: str) -> str | None:
    """The database URL if it holds no password (flow parameters are visible in the Prefect UI), else None."""
    return None if make_url(url).password else url


def deployments(settings: Settings) -> list:
    """One deployment per distinct schedule, each ingesting the sources that share it."""
    engine = make_engine(settings.database_url)
    init_db(engine)
    groups: dict[tuple, list[str]] = defaultdict(list)
    for row in list_sources(engine):
        groups[(row.every_seconds, row.cron)].append(row.source)
    result = []
    for (seconds, cron), members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        key = cron or f"every-{seconds}s"
        name = f"watch-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        schedule = {"cron": cron} if cron else {"interval": timedelta(seconds=seconds)}
        result.append(
            ingest_flow.to_deployment(
                name=name,
                parameters={"sources": members, "database_url": _public_url(settings.database_url), "trigger": "schedule"},
                description=f"{len(members)} watched source(s), {key}",
                **schedule,
            )
        )
    return result


def serve_watch_list(settings: Settings) -> None:
    """Register the watch list's deployments with the Prefect server and run them as they come due."""
    from prefect import serve

    if not os.environ.get("PREFECT_API_URL"):
        raise KBError("schedules need a Prefect server: run `kb server`, then set PREFECT_API_URL=http://127.0.0.1:4200/api")
    os.environ["KB_DATABASE_URL"] = settings.database_url  # the served flow runs read it; it is not a parameter
    found = deployments(settings)
    if not found:
        raise KBError("the watch list is empty: add sources with `kb sources add URL --every 1d`")
    # One flow run at a time: runs that came due together (a late start, two schedules at midnight) would
    # otherwise extract the same page twice and mark each other's ledger rows 'interrupted'.
    serve(*found, limit=1)
