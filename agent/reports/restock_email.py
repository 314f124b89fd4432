"""The nightly restock email: plain text, HTML and a CSV attachment, grouped by vendor then storeroom."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from email.message import EmailMessage
from html import escape

from agent.notify.email import Attachment, build_message
from agent.services.supplies import restock_csv
from rules.messages import format_value
from rules.restock import RestockLine, days_text, group_by_vendor, report_subject


def _qty(line: RestockLine) -> str:
    packs = f" ({line.packs} × {line.pack_size})" if line.pack_size > 1 and line.quantity else ""
    return f"{line.quantity}{packs}"


def restock_text(lines: Sequence[RestockLine], *, site_name: str, day: date) -> str:
    if not lines:
        return f"Restock list for {site_name}, {day.isoformat()}: nothing to order.\n"
    out = [f"Restock list for {site_name}, {day.isoformat()}", ""]
    for vendor, rooms in group_by_vendor(lines):
        out.append(f"{vendor}")
        for room, room_lines in rooms:
            out.append(f"  {room}")
            for line in room_lines:
                out.append(
                    f"    {line.sku:<14} {line.name[:30]:<30} order {_qty(line):<12} "
                    f"on hand {format_value(line.on_hand)}, on order {format_value(line.on_order)}, "
                    f"PAR {format_value(line.par)}, days of supply {days_text(line.days_of_supply)}"
                )
                out.append(f"      why: {line.reason}")
        out.append("")
    out.append("Order quantity = PAR − on hand − on order, rounded up to whole packs.")
    return "\n".join(out) + "\n"


def restock_html(lines: Sequence[RestockLine], *, site_name: str, day: date) -> str:
    title = escape(f"Restock list for {site_name}, {day.isoformat()}")
    parts = [
        "<!doctype html><html><body style=\"font-family: sans-serif\">",
        f"<h1 style=\"font-size:1.3em\">{title}</h1>",
    ]
    if not lines:
        parts.append("<p>Nothing to order today.</p>")
    for vendor, rooms in group_by_vendor(lines):
        parts.append(f"<h2 style=\"font-size:1.1em\">{escape(vendor)}</h2>")
        for room, room_lines in rooms:
            parts.append(f"<h3 style=\"font-size:1em\">{escape(room)}</h3>")
            parts.append(
                "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><thead><tr>"
                "<th>SKU</th><th>Item</th><th>Order</th><th>On hand</th><th>On order</th><th>PAR</th>"
                "<th>Reorder at</th><th>Days of supply</th><th>Why</th></tr></thead><tbody>"
            )
            for line in room_lines:
                cells = (
                    line.sku, line.name, _qty(line), format_value(line.on_hand), format_value(line.on_order),
                    format_value(line.par), format_value(line.reorder_point), days_text(line.days_of_supply),
                    line.reason,
                )
                parts.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
            parts.append("</tbody></table>")
    parts.append("<p><small>Order quantity = PAR − on hand − on order, rounded up to whole packs.</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def build_restock_email(
    lines: Sequence[RestockLine],
    *,
    site_id: str,
    site_name: str,
    day: date,
    sender: str,
    recipients: Sequence[str],
) -> EmailMessage:
    return build_message(
        sender=sender,
        recipients=recipients,
        subject=report_subject(site_name, day, len(lines)),
        text=restock_text(lines, site_name=site_name, day=day),
        html=restock_html(lines, site_name=site_name, day=day),
        attachments=[Attachment(f"restock-{site_id}-{day.isoformat()}.csv", restock_csv(lines).encode("utf-8"))],
        headers={"X-Facility-Site": site_id, "X-Facility-Report": f"restock {day.isoformat()}"},
    )
