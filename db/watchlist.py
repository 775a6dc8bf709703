"""The watch list: sources that scheduled runs ingest, each with an interval or a cron schedule."""

from __future__ import annotations

import re

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.models import Source
from db.session import write_session

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_every(every: str) -> int:
    """'30m', '6h', '1d', '2w' or plain seconds → seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", every or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--every {every!r}: use a number with s, m, h, d or w, e.g. 1d")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def check_cron(cron: str) -> str:
    """A cron expression Prefect will accept (five fields)."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
    except ValueError as exc:
        raise ValueError(f'--cron {cron!r} is not a valid cron expression, e.g. "0 6 * * *"') from exc
    return cron


def add_source(engine: Engine, source: str, *, every: str | None = None, cron: str | None = None) -> Source:
    """Add a watched source or change its schedule; with neither option it runs daily."""
    if every and cron:
        raise ValueError("give --every or --cron, not both")
    seconds = parse_every(every) if every else (None if cron else 86400)
    cron = check_cron(cron) if cron else None
    with write_session(engine) as session:
        row = session.exec(select(Source).where(Source.source == source)).first() or Source(source=source)
        row.every_seconds, row.cron = seconds, cron
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def list_sources(engine: Engine) -> list[Source]:
    with Session(engine) as session:
        return list(session.exec(select(Source).order_by(Source.id)))


def remove_source(engine: Engine, source: str) -> bool:
    with write_session(engine) as session:
        row = session.exec(select(Source).where(Source.source == source)).first()
        if row is None:
            return False
        session.delete(row)
        return True
