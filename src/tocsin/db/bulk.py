"""Bulk inserts for the ingest hot path, below SQLAlchemy's per-row parameter processing.

SQLAlchemy runs every value of an executemany through its bind processors (UUID to text,
datetime to text, JSON encoding); on the alert path that was a third of the pipeline's time.
Here each column's converter is chosen once per statement and the driver gets plain tuples.
The stored forms are exactly those SQLAlchemy's types produce, so ORM reads are unaffected:
SQLite keeps UUIDs as 32 hex digits and datetimes as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC,
see `UTCDateTime`); PostgreSQL gets native values from psycopg.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.db.base import UTCDateTime

Convert = Callable[[Any], Any]


def _json(value: Any) -> Any:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: store aware UTC datetimes only")
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(" ")
    return text if value.microsecond else text + ".000000"  # SQLAlchemy always writes microseconds


def _sqlite_uuid(value: Any) -> str | None:
    return None if value is None else "%032x" % value.int  # noqa: UP031 -- what `UUID.hex` does, without the property


def _checked_time(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("naive datetime refused: store aware UTC datetimes only")
    return value


def _converter(col: sa.Column[Any], dialect: str) -> Convert | None:
    kind = col.type
    if isinstance(kind, sa.JSON):
        return _json  # JSON null for None, as SQLAlchemy's JSON type stores it
    if isinstance(kind, UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _checked_time
    if isinstance(kind, sa.Uuid):
        return _sqlite_uuid if dialect == "sqlite" else None
    return None


def _last_value_memo(convert: Convert) -> Convert:
    """`convert`, remembering its last answer: a batch's rows mostly carry the same few times (the
    batch's `now`, None), and converting a datetime to its stored form is the costly part."""
    last_in: Any = None
    last_out: Any = convert(None)

    def memo(value: Any) -> Any:
        nonlocal last_in, last_out
        if value is last_in or value == last_in:
            return last_out
        out = convert(value)
        last_in, last_out = value, out
        return out

    return memo


def _plan(conn: sa.Connection, table: sa.Table) -> tuple[str, list[str], list[tuple[int, Convert]]]:
    """The INSERT statement for every column of `table`, the column names, and the converters of
    the columns that need one (by position; fresh for each statement, see `_last_value_memo`)."""
    dialect = conn.dialect.name
    cols = list(table.columns)
    names = [c.name for c in cols]
    mark = "?" if dialect == "sqlite" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    convert = []
    for pos, col in enumerate(cols):
        conv = _converter(col, dialect)
        if conv is not None:
            convert.append((pos, _last_value_memo(conv) if isinstance(col.type, UTCDateTime) else conv))
    return sql, names, convert


def _data(values: Iterable[tuple[Any, ...]], convert: list[tuple[int, Convert]]) -> list[tuple[Any, ...]]:
    data = []
    for row in values:
        out = list(row)
        for pos, conv in convert:
            out[pos] = conv(out[pos])
        data.append(tuple(out))  # SQLAlchemy takes a list of tuples
    return data


def insert_rows(session: Session, table: sa.Table, rows: Sequence[Mapping[str, object]]) -> None:
    """INSERT `rows` (mappings holding every column of `table`) in one executemany."""
    if not rows:
        return
    conn = session.connection()
    sql, names, convert = _plan(conn, table)
    missing = set(names) - set(rows[0])
    if missing:
        raise ValueError(f"insert into {table.name} lacks {sorted(missing)}")
    get = itemgetter(*names)
    conn.exec_driver_sql(sql, _data(map(get, rows), convert))


def insert_objects(session: Session, table: sa.Table, rows: Sequence[object]) -> None:
    """INSERT `rows` (objects with an attribute named like each column of `table`, such as the
    pipeline's typed rows) in one executemany."""
    if not rows:
        return
    conn = session.connection()
    sql, names, convert = _plan(conn, table)
    get = attrgetter(*names)
    conn.exec_driver_sql(sql, _data(map(get, rows), convert))
