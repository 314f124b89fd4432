"""Fetch what a profile asks for: scalars by GET, tables by GETBULK walks (GETNEXT on v1).

Walking every table on every poll costs several round trips and many surplus values, and
decoding values is most of an SNMP client's CPU. After one walk the row indexes are known, so
later polls GET exactly the instances of the measuring columns (levels, capacities, status) in
as few requests as the OIDs allow; describing columns (names, types, descriptions) are kept
from the walk. A row that has vanished sends the table back to a walk; tables are walked again
anyway after `rewalk_after` seconds, which also refreshes what was kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from collectors.snmp.config import SnmpTarget
from collectors.snmp.wire import Oid, Raw, SnmpRequestError, SnmpWire

MAX_OIDS_PER_GET = 48  # a response this size fits in one Ethernet frame for typical values; tooBig halves it
WALK_VALUES = 48  # values asked for per GETBULK while walking
MAX_WALK_REQUESTS = 200  # per table per poll: a device that never ends its table can't hold the poller


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table to walk. static: those of its columns that describe rather than measure (names,
    types, descriptions); they are read by walks only and remembered between them."""

    name: str
    columns: tuple[Oid, ...]
    static: frozenset[Oid] = frozenset()


@dataclass(frozen=True, slots=True)
class FetchPlan:
    scalars: tuple[Oid, ...] = ()
    tables: tuple[TableSpec, ...] = ()


@dataclass(slots=True)
class FetchedData:
    """scalars: OID → value (missing ones as noSuch* values). tables: name → column → row index → value."""

    scalars: dict[Oid, Raw] = field(default_factory=dict)
    tables: dict[str, dict[Oid, dict[Oid, Raw]]] = field(default_factory=dict)
    requests: int = 0

    def column(self, table: str, column: Oid) -> dict[Oid, Raw]:
        return self.tables.get(table, {}).get(column, {})

    def rows(self, table: str) -> list[Oid]:
        indexes: set[Oid] = set()
        for values in self.tables.get(table, {}).values():
            indexes.update(values)
        return sorted(indexes)


@dataclass(slots=True)
class _TableMap:
    instances: dict[Oid, tuple[Oid, ...]]  # measuring column → the row indexes it had at the last walk
    static: dict[Oid, dict[Oid, Raw]]  # describing column → row index → value, as last walked
    walked_at: float


class Fetcher:
    """Fetches plans for many devices, remembering each device's table rows between polls."""

    def __init__(self, wire: SnmpWire, *, rewalk_after: float = 3600.0) -> None:
        self._wire = wire
        self._rewalk_after = rewalk_after
        self._maps: dict[tuple[str, str], _TableMap] = {}

    def forget(self, equipment_id: str) -> None:
        for key in [key for key in self._maps if key[0] == equipment_id]:
            del self._maps[key]

    async def fetch(self, target: SnmpTarget, plan: FetchPlan, *, now: float) -> FetchedData:
        data = FetchedData()
        to_walk: list[TableSpec] = []
        cached: list[tuple[TableSpec, _TableMap]] = []
        for table in plan.tables:
            table_map = self._maps.get((target.equipment_id, table.name))
            if table_map is None or now - table_map.walked_at > self._rewalk_after:
                to_walk.append(table)
            else:
                cached.append((table, table_map))

        wanted: list[Oid] = list(plan.scalars)
        for _table, table_map in cached:
            for column, indexes in table_map.instances.items():
                wanted.extend(column + index for index in indexes)
        values = await self._get_many(target, wanted, data) if wanted else {}

        for oid in plan.scalars:
            data.scalars[oid] = values[oid]
        for table, table_map in cached:
            columns: dict[Oid, dict[Oid, Raw]] = dict(table_map.static)
            stale = False
            for column, indexes in table_map.instances.items():
                got = columns.setdefault(column, {})
                for index in indexes:
                    raw = values[column + index]
                    if raw.missing:
                        stale = True
                    got[index] = raw
            if stale:
                to_walk.append(table)
            else:
                data.tables[table.name] = columns

        if to_walk:
            # All tables in one walk, side by side: a printer's four tables cost one or two
            # GETBULKs instead of four or more.
            walked = await self._walk(
                target, tuple(dict.fromkeys(c for t in to_walk for c in t.columns)), data
            )
            for table in to_walk:
                columns = {column: walked[column] for column in table.columns}
                data.tables[table.name] = columns
                self._maps[(target.equipment_id, table.name)] = _TableMap(
                    instances={
                        column: tuple(rows)
                        for column, rows in columns.items()
                        if rows and column not in table.static
                    },
                    static={column: rows for column, rows in columns.items() if column in table.static},
                    walked_at=now,
                )
        return data

    async def _get_many(self, target: SnmpTarget, oids: Sequence[Oid], data: FetchedData) -> dict[Oid, Raw]:
        values: dict[Oid, Raw] = {}
        for start in range(0, len(oids), MAX_OIDS_PER_GET):
            chunk = list(oids[start : start + MAX_OIDS_PER_GET])
            values.update(await self._get_chunk(target, chunk, data))
        return values

    async def _get_chunk(self, target: SnmpTarget, oids: list[Oid], data: FetchedData) -> dict[Oid, Raw]:
        data.requests += 1
        try:
            answer = await self._wire.get(target, oids)
        except SnmpRequestError as exc:
            if exc.oid is None or (exc.kind == "tooBig" and len(oids) == 1):
                raise
            if len(oids) == 1:
                kind = "noSuchObject" if exc.kind == "noSuchName" else "error"
                return {oids[0]: Raw(kind, exc.kind)}
            # tooBig: halve the request. Any other error-status (SNMPv1's noSuchName, an agent's
            # genErr) fails the whole GET for one OID, and agents don't always point at the right
            # one: ask for each OID alone, so the good ones still arrive and the error lands where it is.
            parts = (
                [oids[: len(oids) // 2], oids[len(oids) // 2 :]]
                if exc.kind == "tooBig"
                else [[o] for o in oids]
            )
            values: dict[Oid, Raw] = {}
            for part in parts:
                values.update(await self._get_chunk(target, part, data))
            return values
        if len(answer) != len(oids):
            raise SnmpRequestError(
                f"malformed response: asked for {len(oids)} values, got {len(answer)}", kind="protocol"
            )
        for asked, (oid, _raw) in zip(oids, answer, strict=True):
            if oid != asked:
                raise SnmpRequestError(
                    f"malformed response: asked for {_text(asked)}, got {_text(oid)}", kind="protocol"
                )
        return dict(answer)

    async def _walk(
        self, target: SnmpTarget, columns: tuple[Oid, ...], data: FetchedData
    ) -> dict[Oid, dict[Oid, Raw]]:
        """Walk columns side by side; each column stops at its own end."""
        result: dict[Oid, dict[Oid, Raw]] = {column: {} for column in columns}
        cursor: dict[Oid, Oid] = {column: column for column in columns}
        for _ in range(MAX_WALK_REQUESTS):
            active = list(cursor)
            if not active:
                return result
            data.requests += 1
            request = [cursor[column] for column in active]
            if target.version == "1":
                try:
                    answer = await self._wire.get_next(target, request)
                except SnmpRequestError as exc:
                    # v1 ends a walk at the end of the MIB with noSuchName on that column.
                    if exc.kind == "noSuchName" and exc.oid is not None:
                        cursor = {c: o for c, o in cursor.items() if o != exc.oid}
                        continue
                    raise
            else:
                # Keep each answer near WALK_VALUES values: agents cap responses, and every
                # value past a column's end is decoded for nothing.
                answer = await self._wire.get_bulk(target, request, max(1, WALK_VALUES // len(active)))
            if not answer:
                raise SnmpRequestError(f"empty response while walking {_text(active[0])}", kind="protocol")
            finished = _absorb(active, answer, cursor, result)
            for column in finished:
                cursor.pop(column, None)
        raise SnmpRequestError(
            f"walk from {_text(columns[0])} did not end after {MAX_WALK_REQUESTS} requests (agent loops?)",
            kind="protocol",
        )


def _absorb(
    active: list[Oid],
    answer: Sequence[tuple[Oid, Raw]],
    cursor: dict[Oid, Oid],
    result: dict[Oid, dict[Oid, Raw]],
) -> set[Oid]:
    """File a GETNEXT/GETBULK answer under its columns; return the columns that reached their end."""
    finished: set[Oid] = set()
    width = len(active)
    for position, (oid, raw) in enumerate(answer):
        column = active[position % width]
        if column in finished:
            continue
        if raw.kind == "endOfMibView" or oid[: len(column)] != column or len(oid) == len(column):
            finished.add(column)
            continue
        if oid <= cursor[column]:
            raise SnmpRequestError(
                f"agent returned OIDs out of order in column {_text(column)} ({_text(oid)} after {_text(cursor[column])})",
                kind="protocol",
            )
        result[column][oid[len(column) :]] = raw
        cursor[column] = oid
    return finished


def _text(oid: Iterable[int]) -> str:
    return ".".join(str(part) for part in oid)
