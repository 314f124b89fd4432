"""Supply items from the config into supply_items at start-up, without losing what was counted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from agent.config.model import SupplyConfig
from agent.storage.models import StockRecord, SupplyItem
from rules.consumption import CHANGE_COUNT

log = logging.getLogger(__name__)


def sync_supplies(session: Session, supplies: Sequence[SupplyConfig], *, site_id: str, now: datetime) -> int:
    """Insert new items and refresh descriptive settings of known ones. Returns how many were new.

    on_hand from the config only seeds an item that was never counted: counts always win.
    PAR and reorder point changed by a person (through the API) win over the config too, until
    that person's change is cleared; the config still owns name, vendor, pack size and the rest.
    """
    created = 0
    for supply in supplies:
        row = session.get(SupplyItem, supply.sku)
        if row is None:
            row = SupplyItem(sku=supply.sku, par=supply.par, reorder_point=supply.reorder_point, updated_at=now)
            session.add(row)
            created += 1
        row.site_id = site_id
        row.name = supply.name
        row.unit = supply.unit
        row.location = supply.location
        row.vendor = supply.vendor
        row.pack_size = supply.pack_size
        row.lead_time_days = supply.lead_time_days
        row.on_order = supply.on_order
        row.fits_models = list(supply.fits_models)
        row.part_numbers = list(supply.part_numbers)
        if row.settings_changed_by is None:
            row.par = supply.par
            row.reorder_point = supply.reorder_point
        elif (row.par, row.reorder_point) != (supply.par, supply.reorder_point):
            log.info(
                "supply %s keeps PAR %g / reorder point %g set by %s (config says %g / %g)",
                supply.sku, row.par, row.reorder_point, row.settings_changed_by, supply.par, supply.reorder_point,
            )
        if row.on_hand is None and supply.on_hand is not None:
            row.on_hand = supply.on_hand
            row.counted_at = now
            session.add(
                StockRecord(
                    sku=supply.sku, at=now, source="config", actor="config", previous=None,
                    value=supply.on_hand, change=CHANGE_COUNT, comment="starting count from the config",
                )
            )
        row.updated_at = now
    session.flush()
    return created
