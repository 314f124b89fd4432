"""`facility-agent db copy --to postgresql://...`: move a SQLite database into PostgreSQL.

The source is opened read-only (a `file:...?mode=ro` URI), so the copy can never change it.
The target gets the Alembic migrations first, then every table of the models' metadata is
copied in dependency order, in batches, one transaction per batch. A copy that stopped half
way is finished with `--resume`: rows whose primary key is already there are skipped.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy import Connection, Engine, Integer, Table, case, create_engine, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from agent.config import AgentConfig
from agent.storage.db import create_db_engine, normalise_url

BATCH = 2000
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


class CopyError(Exception):
    """A problem the user can fix; the message says how. Never carries a password."""


def register(dbsub: Any) -> None:
    parser = dbsub.add_parser(
        "copy",
        help="copy the SQLite database into an empty PostgreSQL one",
        description="Copy every table of the SQLite database (the config's, or --from) into PostgreSQL. "
        "Stop the agent first. The source is opened read-only and never changed.",
    )
    parser.add_argument("--to", required=True, metavar="URL", help="target, postgresql://user:pass@host:5432/db")
    parser.add_argument("--from", dest="source", type=Path, metavar="PATH",
                        help="the SQLite file to copy (default: the config's database)")
    parser.add_argument("--resume", action="store_true",
                        help="finish a copy that stopped: keep rows already in the target, add the rest")
    parser.add_argument("--truncate", action="store_true",
                        help="cut text longer than its PostgreSQL column allows (SQLite does not enforce lengths)")
    parser.add_argument("--batch", type=int, default=BATCH, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, config: AgentConfig | None) -> int:
    try:
        target_url = _target_url(args.to)
        source_path = _source_path(args.source, config)
        return _copy(source_path, target_url, resume=args.resume, batch=max(1, args.batch), truncate=args.truncate)
    except CopyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _source_path(given: Path | None, config: AgentConfig | None) -> Path:
    if given is None:
        if config is None:
            raise CopyError("no source: give --from PATH or --config")
        url = make_url(config.database_url())
        if url.get_backend_name() != "sqlite":
            raise CopyError(
                f"the config's database is {redact(str(url))}, not SQLite; give the SQLite file with --from PATH"
            )
        if not url.database or url.database == ":memory:":
            raise CopyError("the config's database is in memory; give the SQLite file with --from PATH")
        given = Path(url.database)
    path = given.expanduser().resolve()
    if not path.is_file():
        raise CopyError(f"no SQLite database at {path} (check database.data_dir in the config, or --from)")
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size:
        # A running agent keeps a write-ahead log; what it writes after the copy starts is not copied.
        print(f"warning: {wal} holds recent writes: if the agent is still running, stop it first, "
              "or its later changes stay behind in SQLite", file=sys.stderr)
    return path


def _target_url(url: str) -> str:
    if not url.startswith(POSTGRES_SCHEMES):
        scheme = url.split("://", 1)[0] if "://" in url else url[:20]
        raise CopyError(f"--to must be a postgresql:// URL, like postgresql://user:PASSWORD@host:5432/db "
                        f"(got scheme {scheme!r})")
    try:
        make_url(normalise_url(url))
    except ArgumentError:
        raise CopyError("--to is not a valid URL; expected postgresql://user:PASSWORD@host:5432/db") from None
    return url


def _source_engine(path: Path) -> Engine:
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


def _tables() -> list[Table]:
    from agent.storage.models import Base

    return list(Base.metadata.sorted_tables)


def _count(db: Engine | Connection, table: Table) -> int:
    if isinstance(db, Engine):
        with db.connect() as conn:
            return _count(conn, table)
    return int(db.execute(select(func.count()).select_from(table)).scalar_one())


def _copy(source_path: Path, target_url: str, *, resume: bool, batch: int, truncate: bool = False) -> int:
    shown = redact(target_url)
    source = _source_engine(source_path)
    target = create_db_engine(normalise_url(target_url))
    try:
        tables = _tables()
        _check_source(source, source_path, tables)
        cuts = _overlong(source, tables, truncate)
        _prepare_target(target, target_url, shown)
        _check_empty(target, tables, shown, resume)
        started = time.perf_counter()
        with source.connect() as src, _progress() as progress:
            # One read transaction: counts and rows come from the same snapshot of the file.
            src.exec_driver_sql("BEGIN")
            expected = {t.name: _count(src, t) for t in tables}
            copied = sum(
                _copy_table(src, target, t, expected[t.name], progress, resume=resume, batch=batch,
                            cut=cuts.get(t.name, {}))
                for t in tables
            )
        _fix_sequences(target, tables)
        elapsed = time.perf_counter() - started
        actual = {t.name: _count(target, t) for t in tables}
    except DBAPIError as exc:
        raise CopyError(_db_error(exc, target_url)) from None
    finally:
        source.dispose()
        target.dispose()
    wrong = [f"  {name}: {expected[name]} in the source, {actual[name]} in the target"
             for name in expected if expected[name] != actual[name]]
    if wrong:
        print("error: row counts differ after the copy:\n" + "\n".join(wrong), file=sys.stderr)
        return 1
    total = sum(expected.values())
    rate = copied / elapsed if elapsed > 0 else float(copied)
    print(f"copied {copied} rows ({total} in all, {len(tables)} tables) from {source_path} to {shown} "
          f"in {elapsed:.1f} s ({rate:.0f} rows/s); row counts match")
    print("next: point database.url (or database.url_env) at the new database and start the agent")
    return 0


def _check_source(source: Engine, path: Path, tables: list[Table]) -> None:
    from agent.storage.migrate import alembic_config

    try:
        with source.connect() as conn:
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
            if "alembic_version" not in names:
                raise CopyError(f"{path} is not a facility-agent database (no alembic_version table)")
            revisions = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except sqlite3.DatabaseError as exc:
        raise CopyError(f"{path} cannot be read as SQLite: {exc}") from None
    except DBAPIError as exc:
        raise CopyError(f"{path} cannot be read as SQLite: {exc.orig}") from None
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    if revisions != heads:
        raise CopyError(
            f"{path} is at revision {', '.join(sorted(revisions)) or 'none'}, this version's newest is "
            f"{', '.join(sorted(heads))}: stop the agent, run `facility-agent db upgrade` on it, then copy"
        )
    missing = [t.name for t in tables if t.name not in names]
    if missing:
        raise CopyError(f"{path} has no table {', '.join(missing)}; run `facility-agent db upgrade` on it first")


def _overlong(source: Engine, tables: list[Table], truncate: bool) -> dict[str, dict[str, int]]:
    """Text columns whose SQLite values are longer than PostgreSQL will take: table -> {column: length}.

    SQLite keeps a 70-character string in a VARCHAR(60); PostgreSQL refuses it and the copy would
    stop half way. Found up front (one scan per table), refused unless --truncate, and never cut
    in a key or unique column, where cutting could merge two rows.
    """
    found: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    with source.connect() as conn:
        for table in tables:
            limited = [c for c in table.columns if isinstance(getattr(c.type, "length", None), int)]
            if not limited:
                continue
            probes = []
            for c in limited:
                too_long = func.length(c) > c.type.length  # type: ignore[attr-defined]
                probes += [func.count(case((too_long, 1))), func.max(func.length(c))]
            row = conn.execute(select(*probes).select_from(table)).one()
            keyed = {c.name for c in table.primary_key.columns}
            for index in table.indexes:
                keyed |= {c.name for c in index.columns} if index.unique else set()
            for i, c in enumerate(limited):
                if row[2 * i]:
                    length = int(c.type.length)  # type: ignore[attr-defined]
                    problems.append(f"{table.name}.{c.name}: {row[2 * i]} values longer than {length} "
                                    f"characters (up to {row[2 * i + 1]})" + (", a key" if c.name in keyed else ""))
                    found.setdefault(table.name, {})[c.key] = length
                    if truncate and c.name in keyed:
                        raise CopyError(f"{problems[-1]}: a key column cannot be cut, so this database cannot be copied")
    if problems and not truncate:
        raise CopyError("PostgreSQL would refuse text longer than its column, which SQLite kept:\n  "
                        + "\n  ".join(problems) + "\nRun again with --truncate to cut these values to fit "
                        "(the SQLite file keeps them whole). Nothing was copied")
    for problem in problems:
        print(f"warning: {problem}; cut to fit", file=sys.stderr)
    return found


def _prepare_target(target: Engine, url: str, shown: str) -> None:
    from agent.storage.migrate import upgrade

    try:
        with target.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise CopyError(f"cannot reach PostgreSQL at {shown}: {_first_line(exc, url)}") from None
    upgrade(url)


def _check_empty(target: Engine, tables: list[Table], shown: str, resume: bool) -> None:
    if resume:
        return
    filled = [f"{t.name} ({n} rows)" for t in tables if (n := _count(target, t))]
    if filled:
        raise CopyError(
            f"{shown} is not empty: {', '.join(filled[:5])}{' ...' if len(filled) > 5 else ''}. "
            "Copy into an empty database, or add --resume to finish an earlier copy into it"
        )


def _copy_table(
    src: Connection, target: Engine, table: Table, expected: int, progress: Progress, *, resume: bool, batch: int,
    cut: dict[str, int],
) -> int:
    pk = list(table.primary_key.columns)
    if resume and _count(target, table) == expected:
        progress.table(table.name, expected, skipped=True)
        return 0
    if resume and not pk:
        raise CopyError(f"table {table.name} has no primary key, so --resume cannot tell which rows are there")
    columns = list(table.columns)
    keys = [c.key for c in columns]
    insert: Any = pg_insert(table).on_conflict_do_nothing(index_elements=pk) if resume else table.insert()
    progress.table(table.name, expected)
    copied = 0
    result = src.execution_options(yield_per=batch).execute(select(*columns).order_by(*pk))
    for part in result.partitions(batch):
        rows = [dict(zip(keys, row, strict=True)) for row in part]
        for row in rows if cut else ():
            for key, length in cut.items():
                if isinstance(row[key], str):
                    row[key] = row[key][:length]
        with target.begin() as conn:
            conn.execute(insert, rows)
        copied += len(rows)
        progress.advance(len(rows))
    progress.done()
    return copied


def _fix_sequences(target: Engine, tables: list[Table]) -> None:
    """Move each id sequence past the copied ids, so the agent's next insert doesn't collide."""
    quote_ = target.dialect.identifier_preparer
    with target.begin() as conn:
        for table in tables:
            pk = list(table.primary_key.columns)
            if len(pk) != 1 or not isinstance(pk[0].type, Integer):
                continue
            name, col = quote_.format_table(table), quote_.quote(pk[0].name)
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX({col}), 0) + 1, false) FROM {name}"),
                {"t": name, "c": pk[0].name},
            )


def _first_line(exc: DBAPIError, url: str) -> str:
    message = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
    password = make_url(url).password
    return message.replace(str(password), "***") if password else message


def _db_error(exc: DBAPIError, url: str) -> str:
    return f"the copy stopped: {_first_line(exc, url)}. Fix it and run again with --resume"


class Progress(Protocol):
    def table(self, name: str, total: int, *, skipped: bool = False) -> None: ...
    def advance(self, rows: int) -> None: ...
    def done(self) -> None: ...


class _PlainProgress:
    """One line per table on stderr, for logs and pipes."""

    def __init__(self) -> None:
        self.name, self.total, self.rows, self.started = "", 0, 0, 0.0

    def table(self, name: str, total: int, *, skipped: bool = False) -> None:
        if skipped:
            print(f"{name}: {total} rows already there, skipped", file=sys.stderr, flush=True)
            return
        self.name, self.total, self.rows, self.started = name, total, 0, time.perf_counter()

    def advance(self, rows: int) -> None:
        self.rows += rows

    def done(self) -> None:
        took = time.perf_counter() - self.started
        print(f"{self.name}: {self.rows}/{self.total} rows copied in {took:.1f} s", file=sys.stderr, flush=True)


class _BarProgress:
    """A rich progress bar per table on a terminal."""

    def __init__(self, bars: Any) -> None:
        self.bars, self.task, self.total = bars, None, 0

    def table(self, name: str, total: int, *, skipped: bool = False) -> None:
        self.total = total
        self.task = self.bars.add_task(name + (" (already there)" if skipped else ""), total=total)
        if skipped:
            self.done()

    def advance(self, rows: int) -> None:
        self.bars.advance(self.task, rows)

    def done(self) -> None:
        self.bars.update(self.task, completed=self.total)


@contextmanager
def _progress() -> Iterator[Progress]:
    if not sys.stderr.isatty():
        yield _PlainProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RichProgress(*columns, console=Console(stderr=True)) as bars:
        yield _BarProgress(bars)
