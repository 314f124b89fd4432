"""Printers: Printer-MIB (RFC 3805) supplies and input trays, HOST-RESOURCES-MIB printer status.

Special values stay states on the same metric (``some_remaining``, ``unknown``, ``other``,
``not_computable``), never numbers, so a −3 "some remaining" can never look like an empty
cartridge to a numeric threshold.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from collectors.snmp.config import SnmpTarget
from collectors.snmp.fetch import FetchedData, FetchPlan, TableSpec
from collectors.snmp.profiles.base import BadValue, ProfileOutput, as_int, as_text, slug
from collectors.snmp.wire import Oid, Raw

SUPPLIES = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1)
SUPPLY_COLORANT = SUPPLIES + (3,)
SUPPLY_CLASS = SUPPLIES + (4,)
SUPPLY_TYPE = SUPPLIES + (5,)
SUPPLY_DESCRIPTION = SUPPLIES + (6,)
SUPPLY_MAX = SUPPLIES + (8,)
SUPPLY_LEVEL = SUPPLIES + (9,)
COLORANT_VALUE = (1, 3, 6, 1, 2, 1, 43, 12, 1, 1, 4)
INPUTS = (1, 3, 6, 1, 2, 1, 43, 8, 2, 1)
INPUT_TYPE = INPUTS + (2,)
INPUT_MAX = INPUTS + (9,)
INPUT_LEVEL = INPUTS + (10,)
INPUT_NAME = INPUTS + (13,)
HR_PRINTER_STATUS = (1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 1)
HR_PRINTER_ERRORS = (1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2)

LEVEL_STATES = {-1: "other", -2: "unknown", -3: "some_remaining"}
PRINTER_STATUS = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
# hrPrinterDetectedErrorState bit positions, most significant bit of the first octet first.
ERROR_FLAGS = (
    "low_paper",
    "no_paper",
    "low_toner",
    "no_toner",
    "door_open",
    "jammed",
    "offline",
    "service_requested",
    "input_tray_missing",
    "output_tray_missing",
    "marker_supply_missing",
    "output_near_full",
    "output_full",
    "input_tray_empty",
    "overdue_prevent_maint",
)
RECEPTACLE_CLASS = 4
SUPPLY_KINDS = {
    3: "toner", 4: "waste_toner", 5: "ink", 6: "ink", 7: "ink_ribbon", 8: "waste_ink", 9: "drum",
    10: "developer", 11: "fuser_oil", 12: "solid_wax", 13: "ribbon_wax", 14: "waste_wax", 15: "fuser",
    16: "corona_wire", 17: "fuser_oil_wick", 18: "cleaner_unit", 19: "fuser_cleaning_pad",
    20: "transfer_unit", 21: "toner", 22: "fuser_oiler", 23: "water", 24: "waste_water",
    26: "waste_paper", 27: "binding_supply", 28: "banding_supply", 29: "stitching_wire",
    30: "shrink_wrap", 31: "paper_wrap", 32: "staples", 33: "inserts", 34: "covers",
    35: "toner", 36: "ink",
}  # fmt: skip
COLOURED_KINDS = {"toner", "ink", "drum", "developer"}
COLOURS = (
    "black", "cyan", "magenta", "yellow", "light_cyan", "light_magenta", "photo_black",
    "matte_black", "light_black", "light_light_black", "gray", "grey", "red", "green", "blue",
    "orange", "violet", "white", "clear", "gold", "silver",
)  # fmt: skip
MANUAL_TRAY_TYPE = 5
_MANUAL_NAME = re.compile(r"manual|bypass|\bmp\b|mp ?tray|multi.?purpose|\bmpt\b", re.IGNORECASE)
_PART_LABELLED = re.compile(r"\b(?:PN|P/N|part(?: number)?)[\s:#]*([A-Z0-9][A-Z0-9-]{3,})", re.IGNORECASE)
_PART_BARE = re.compile(r"\b([A-Z]{1,4}-?\d{2,5}[A-Z]{0,3})\b")
_QUALIFIER = re.compile(r"\(([^()]+)\)")  # no '(' inside: linear on "((((((..." too


@dataclass(slots=True)
class _Supply:
    index: Oid
    description: str
    kind: str
    colour: str | None
    receptacle: bool
    part: str | None
    level: int
    max_capacity: int
    segments: list[str]


class PrinterProfile:
    name = "printer"

    def plan(self, target: SnmpTarget) -> FetchPlan:
        return FetchPlan(
            tables=(
                TableSpec(
                    "supplies",
                    (
                        SUPPLY_COLORANT,
                        SUPPLY_CLASS,
                        SUPPLY_TYPE,
                        SUPPLY_DESCRIPTION,
                        SUPPLY_MAX,
                        SUPPLY_LEVEL,
                    ),
                    static=frozenset({SUPPLY_COLORANT, SUPPLY_CLASS, SUPPLY_TYPE, SUPPLY_DESCRIPTION}),
                ),
                TableSpec("colorants", (COLORANT_VALUE,), static=frozenset({COLORANT_VALUE})),
                TableSpec(
                    "inputs",
                    (INPUT_TYPE, INPUT_MAX, INPUT_LEVEL, INPUT_NAME),
                    static=frozenset({INPUT_TYPE, INPUT_NAME}),
                ),
                TableSpec("printer", (HR_PRINTER_STATUS, HR_PRINTER_ERRORS)),
            )
        )

    def parse(self, target: SnmpTarget, data: FetchedData) -> ProfileOutput:
        out = ProfileOutput()
        if not data.rows("supplies") and not data.rows("printer") and not data.rows("inputs"):
            out.problems.append(
                "no Printer-MIB data: the supplies table (1.3.6.1.2.1.43.11.1.1) and printer status "
                "(1.3.6.1.2.1.25.3.5.1) are empty; is this a printer? Try the 'generic' profile"
            )
            return out
        self._supplies(target, data, out)
        self._inputs(target, data, out)
        self._status(data, out)
        return out

    def _supplies(self, target: SnmpTarget, data: FetchedData, out: ProfileOutput) -> None:
        supplies: list[_Supply] = []
        colorants = data.column("colorants", COLORANT_VALUE)
        for index in data.rows("supplies"):
            try:
                supplies.append(self._supply(index, data, colorants))
            except BadValue as exc:
                out.problems.append(f"supply {_index_text(index)}: {exc}")
        _name_supplies(supplies)
        for supply in supplies:
            base = ".".join(supply.segments)
            metric = f"{base}.full_pct" if supply.receptacle else f"{base}.pct"
            try:
                value = _percent(supply.level, supply.max_capacity)
            except BadValue as exc:
                out.problems.append(
                    f"supply {_index_text(supply.index)} ({supply.description or base}): {exc}"
                )
                continue
            if isinstance(value, float) and supply.receptacle and target.receptacle_level == "space_left":
                value = round(100.0 - value, 1)
            if isinstance(value, float):
                out.number(metric, value, "%")
            else:
                out.state(metric, value, "%")
            if supply.part:
                out.text(f"{base}.part", supply.part)

    def _supply(self, index: Oid, data: FetchedData, colorants: dict[Oid, Raw]) -> _Supply:
        def cell(column: Oid) -> Raw | None:
            return data.column("supplies", column).get(index)

        description = _optional_text(cell(SUPPLY_DESCRIPTION))
        supply_class = _optional_int(cell(SUPPLY_CLASS), "prtMarkerSuppliesClass", SUPPLY_CLASS + index)
        supply_type = _optional_int(cell(SUPPLY_TYPE), "prtMarkerSuppliesType", SUPPLY_TYPE + index)
        level_raw, max_raw = cell(SUPPLY_LEVEL), cell(SUPPLY_MAX)
        if level_raw is None:
            raise BadValue("no prtMarkerSuppliesLevel")
        if max_raw is None:
            raise BadValue("no prtMarkerSuppliesMaxCapacity")
        level = as_int(level_raw, "prtMarkerSuppliesLevel", SUPPLY_LEVEL + index)
        max_capacity = as_int(max_raw, "prtMarkerSuppliesMaxCapacity", SUPPLY_MAX + index)
        kind = _kind(supply_type, description)
        receptacle = supply_class == RECEPTACLE_CLASS or kind.startswith("waste")
        colour = None
        colorant_index = _optional_int(
            cell(SUPPLY_COLORANT), "prtMarkerSuppliesColorantIndex", SUPPLY_COLORANT + index
        )
        if colorant_index and len(index) >= 2:
            colorant = colorants.get(index[:-1] + (colorant_index,))
            colour = slug(as_text(colorant)) if colorant is not None else None
        if not colour:
            colour = _colour_in(description)
        segments = [kind, colour] if colour and kind in COLOURED_KINDS else [kind]
        return _Supply(
            index=index,
            description=description,
            kind=kind,
            colour=colour,
            receptacle=receptacle,
            part=_part_number(description),
            level=level,
            max_capacity=max_capacity,
            segments=segments,
        )

    def _inputs(self, target: SnmpTarget, data: FetchedData, out: ProfileOutput) -> None:
        for index in data.rows("inputs"):

            def cell(column: Oid, index: Oid = index) -> Raw | None:
                return data.column("inputs", column).get(index)

            name = _optional_text(cell(INPUT_NAME))
            tray = _index_text(index[-1:])
            try:
                tray_type = _optional_int(cell(INPUT_TYPE), "prtInputType", INPUT_TYPE + index)
                if not target.include_manual_trays and (
                    tray_type == MANUAL_TRAY_TYPE or _MANUAL_NAME.search(name)
                ):
                    continue
                level_raw, max_raw = cell(INPUT_LEVEL), cell(INPUT_MAX)
                if level_raw is None or max_raw is None:
                    continue
                level = as_int(level_raw, "prtInputCurrentLevel", INPUT_LEVEL + index)
                max_capacity = as_int(max_raw, "prtInputMaxCapacity", INPUT_MAX + index)
                value = _percent(level, max_capacity)
            except BadValue as exc:
                out.problems.append(f"input tray {tray}{f' ({name})' if name else ''}: {exc}")
                continue
            if isinstance(value, float):
                out.number(f"tray.{tray}.pct", value, "%")
            else:
                out.state(f"tray.{tray}.pct", value, "%")

    def _status(self, data: FetchedData, out: ProfileOutput) -> None:
        rows = data.rows("printer")
        if not rows:
            return
        index = rows[0]
        status = data.column("printer", HR_PRINTER_STATUS).get(index)
        if status is not None:
            try:
                code = as_int(status, "hrPrinterStatus", HR_PRINTER_STATUS + index)
                if code not in PRINTER_STATUS:
                    raise BadValue(f"hrPrinterStatus {code} is not one of 1-5")
                out.state("printer.status", PRINTER_STATUS[code])
            except BadValue as exc:
                out.problems.append(str(exc))
        errors = data.column("printer", HR_PRINTER_ERRORS).get(index)
        if errors is not None:
            if errors.kind != "octets" or not isinstance(errors.value, bytes):
                out.problems.append(
                    f"hrPrinterDetectedErrorState is {errors.describe()}, expected an OCTET STRING of flag bits"
                )
                return
            bits = int.from_bytes(errors.value.ljust(2, b"\x00")[:2], "big")
            for position, flag in enumerate(ERROR_FLAGS):
                out.number(f"printer.{flag}", 1.0 if bits & (0x8000 >> position) else 0.0)


def _percent(level: int, max_capacity: int) -> float | str:
    """A level against its capacity: a percentage, or a state when none can be computed."""
    if level in LEVEL_STATES:
        return LEVEL_STATES[level]
    if level < 0:
        raise BadValue(f"level {level} is negative and not a special value (-1, -2, -3)")
    if max_capacity in (0, -1, -2):
        return "not_computable"
    if max_capacity < 0:
        raise BadValue(f"max capacity {max_capacity} is negative and not a special value (-1, -2)")
    return round(min(level, max_capacity) * 100.0 / max_capacity, 1)


def _kind(supply_type: int | None, description: str) -> str:
    if supply_type in SUPPLY_KINDS:
        return SUPPLY_KINDS[supply_type]
    text = description.lower()
    for words, kind in (
        (("waste toner", "toner collector", "waste container", "waste bottle"), "waste_toner"),
        (("waste ink", "maintenance box"), "waste_ink"),
        (("toner",), "toner"),
        (("ink",), "ink"),
        (("drum", "opc", "photoconductor", "imaging unit"), "drum"),
        (("fuser",), "fuser"),
        (("developer",), "developer"),
        (("staple",), "staples"),
    ):
        if any(word in text for word in words):
            return kind
    name = slug(re.split(r"[,;]", description)[0])
    name = _QUALIFIER.sub("", name)
    return name or "supply"


_COLOUR = re.compile(r"(?:^|_)(" + "|".join(sorted(COLOURS, key=len, reverse=True)) + r")(?:_|$)")


def _colour_in(description: str) -> str | None:
    match = _COLOUR.search(slug(description))
    if match is None:
        return None
    return "gray" if match.group(1) == "grey" else match.group(1)


def _part_number(description: str) -> str | None:
    match = _PART_LABELLED.search(description)
    if match and match.group(1).lower() != "unknown":
        return match.group(1).upper()
    match = _PART_BARE.search(description)
    return match.group(1) if match else None


def _name_supplies(supplies: list[_Supply]) -> None:
    """Make metric bases unique: several drums become drum.r1, drum.r2 (or drum.5, drum.6)."""
    groups: dict[str, list[_Supply]] = defaultdict(list)
    for supply in supplies:
        groups[".".join(supply.segments)].append(supply)
    for members in groups.values():
        if len(members) < 2:
            continue
        qualifiers = [_qualifier(member.description) for member in members]
        unique = all(qualifiers) and len(set(qualifiers)) == len(qualifiers)
        for member, qualifier in zip(members, qualifiers, strict=True):
            member.segments.append(qualifier if unique and qualifier else _index_text(member.index[-1:]))


def _qualifier(description: str) -> str:
    match = _QUALIFIER.search(description)
    return slug(match.group(1)) if match else ""


def _optional_int(raw: Raw | None, what: str, oid: Oid) -> int | None:
    if raw is None or raw.missing:
        return None
    return as_int(raw, what, oid)


def _optional_text(raw: Raw | None) -> str:
    return as_text(raw) if raw is not None else ""


def _index_text(index: Oid) -> str:
    return ".".join(str(part) for part in index)
