"""A supply_items row as the SupplyLevel people see."""

from __future__ import annotations

from agent.storage.models import SupplyItem
from rules.restock import SupplyLevel, days_of_supply, supply_status
from rules.views import low_supply_text


def level_of(row: SupplyItem) -> SupplyLevel:
    return SupplyLevel(
        sku=row.sku,
        name=row.name,
        unit=row.unit,
        location=row.location,
        vendor=row.vendor,
        par=row.par,
        reorder_point=row.reorder_point,
        pack_size=row.pack_size,
        lead_time_days=row.lead_time_days,
        on_order=row.on_order,
        on_hand=row.on_hand,
        daily_use=row.daily_use,
        days_of_supply=days_of_supply(row.on_hand, row.daily_use),
        counted_at=row.counted_at,
        status=supply_status(row.on_hand, row.reorder_point),
        text=low_supply_text(row.name, row.location, row.on_hand, row.reorder_point, row.unit),
        fits_models=tuple(str(m) for m in row.fits_models or ()),
        part_numbers=tuple(str(p) for p in row.part_numbers or ()),
        settings_changed_by=row.settings_changed_by,
    )
