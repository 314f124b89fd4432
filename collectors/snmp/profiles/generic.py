"""Any device by configuration: scalar OIDs and table columns, each mapped to a metric."""

from __future__ import annotations

from collectors.snmp.config import GenericObject, GenericSpec, SnmpTarget
from collectors.snmp.fetch import FetchedData, FetchPlan, TableSpec
from collectors.snmp.profiles.base import BadValue, ProfileOutput, as_int, as_text, slug
from collectors.snmp.wire import Oid, Raw, oid_text, parse_oid


def _table_name(column: Oid) -> str:
    return "generic:" + oid_text(column[:-1])


class GenericProfile:
    name = "generic"

    def plan(self, target: SnmpTarget) -> FetchPlan:
        spec = _spec(target)
        tables: dict[str, list[Oid]] = {}
        measured = {parse_oid(entry.oid) for entry in spec.columns}
        for entry in spec.columns:
            for text in (entry.oid, entry.label_oid):
                if text:
                    column = parse_oid(text)
                    columns = tables.setdefault(_table_name(column), [])
                    if column not in columns:
                        columns.append(column)
        return FetchPlan(
            scalars=tuple(parse_oid(entry.oid) for entry in spec.scalars),
            tables=tuple(
                TableSpec(name, tuple(columns), static=frozenset(c for c in columns if c not in measured))
                for name, columns in tables.items()
            ),
        )

    def parse(self, target: SnmpTarget, data: FetchedData) -> ProfileOutput:
        spec = _spec(target)
        out = ProfileOutput()
        for entry in spec.scalars:
            oid = parse_oid(entry.oid)
            raw = data.scalars.get(oid)
            if raw is None or raw.missing:
                out.problems.append(
                    f"{raw.type_name if raw else 'noSuchObject'} at {oid_text(oid)} ({entry.metric})"
                )
                continue
            _emit(out, entry, entry.metric, raw, oid)
        for entry in spec.columns:
            column = parse_oid(entry.oid)
            table = _table_name(column)
            cells = data.column(table, column)
            if not cells:
                out.problems.append(
                    f"noSuchObject at {oid_text(column)}: the column has no rows ({entry.metric})"
                )
                continue
            labels = data.column(table, parse_oid(entry.label_oid)) if entry.label_oid else {}
            for index, raw in sorted(cells.items()):
                row = ".".join(str(part) for part in index)
                label = slug(as_text(labels[index])) if index in labels else ""
                label = label or row.replace(".", "_")
                metric = entry.metric.replace("{label}", label).replace("{index}", row.replace(".", "_"))
                if metric == entry.metric and len(cells) > 1:
                    metric = f"{label}.{metric}"
                _emit(out, entry, metric, raw, column + index)
        return out


def _spec(target: SnmpTarget) -> GenericSpec:
    if target.generic is None:
        raise ValueError(
            f"equipment {target.equipment_id!r} uses the generic profile without a 'generic:' block"
        )
    return target.generic


def _emit(out: ProfileOutput, entry: GenericObject, metric: str, raw: Raw, oid: Oid) -> None:
    try:
        if entry.type == "number":
            # round away binary noise: 154 tenths is 15.4, not 15.400000000000002
            out.number(metric, round(_number(raw, oid) * entry.factor, 9), entry.unit)
        elif entry.type == "state":
            if raw.kind == "int" and isinstance(raw.value, int):
                states = entry.states or {}
                out.state(metric, states.get(raw.value, str(raw.value)), entry.unit)
            else:
                state = slug(as_text(raw))
                if not state:
                    raise BadValue(f"{metric} at {oid_text(oid)} is {raw.describe()}, expected a state")
                out.state(metric, state[:64], entry.unit)
        else:
            text = as_text(raw)
            if not text:
                raise BadValue(f"{metric} at {oid_text(oid)} is {raw.describe()}, expected text")
            out.text(metric, text[:64])
    except BadValue as exc:
        out.problems.append(str(exc))


def _number(raw: Raw, oid: Oid) -> float:
    """Integers of any SMI type; also decimal text, which some vendors send for readings like '21.5'."""
    if raw.kind == "octets":
        text = as_text(raw)
        try:
            return float(text)
        except ValueError:
            raise BadValue(f"value at {oid_text(oid)} is {raw.describe()}, expected a number") from None
    return float(as_int(raw, "value", oid))
