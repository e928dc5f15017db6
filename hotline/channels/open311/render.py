"""Open311 documents as JSON or XML, and the views of services and requests they carry.

XML is built with ``xml.etree.ElementTree`` (which escapes text) under the root elements the
specification names; lists inside an element repeat a singular child (``<values><value>``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from aiohttp import web

from hotline.channels.open311.catalog import REQUEST_TYPE_ATTRIBUTE, Service
from hotline.intake.policy import REFERRALS
from hotline.intake.status import status_label
from hotline.nlu.masking import mask_personal_data
from hotline.storage.models import Ticket, TicketStatus

FORMATS = {"json": "application/json", "xml": "text/xml"}
#: a merged duplicate is closed as a request of its own: the ticket it joined carries on
CLOSED = frozenset(
    {TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.CANCELLED, TicketStatus.MERGED}
)
_SINGULAR = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def document(data: Any, *, fmt: str, root: str, item: str = "", status: int = 200) -> web.Response:
    """``data`` as JSON, or as XML under ``<root>`` (each list entry an ``<item>``)."""
    if fmt == "xml":
        return web.Response(
            body=to_xml(data, root=root, item=item),
            status=status,
            content_type="text/xml",
            charset="utf-8",
        )
    body = json.dumps(data, ensure_ascii=False)
    return web.Response(text=body, status=status, content_type="application/json")


def errors(status: int, description: str, *, fmt: str) -> web.Response:
    """The specification's error document: a list of ``{code, description}``."""
    rows = [{"code": status, "description": description}]
    return document(rows, fmt=fmt, root="errors", item="error", status=status)


def to_xml(data: Any, *, root: str, item: str = "") -> bytes:
    """UTF-8 XML with a declaration; ``None`` becomes an empty element."""
    element = ET.Element(root)
    if isinstance(data, list):
        for row in data:
            _fill(ET.SubElement(element, item), row)
    else:
        _fill(element, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        for child in value:
            _fill(ET.SubElement(element, _SINGULAR.get(element.tag, "item")), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def service_view(service: Service) -> dict[str, Any]:
    sub = service.subcategory
    return {
        "service_code": sub.code,
        "service_name": sub.name,
        "description": sub.scope,
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(sub.keywords),
        "group": service.group,
    }


def definition_view(service: Service) -> dict[str, Any]:
    return {"service_code": service.code, "attributes": [REQUEST_TYPE_ATTRIBUTE]}


def timestamp(value: datetime | None, timezone: str) -> str | None:
    """ISO 8601 with the jurisdiction's offset, e.g. ``2026-11-22T13:05:00+08:00``."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def open_or_closed(status: str) -> str:
    return "closed" if TicketStatus(status) in CLOSED else "open"


def status_notes(ticket: Ticket, merged_into: str | None = None) -> str:
    """The status in words; a merged duplicate names the request it was merged into."""
    if TicketStatus(ticket.status) is TicketStatus.MERGED:
        return f"已并入工单 {merged_into} 合并办理" if merged_into else status_label(ticket.status)
    return status_label(ticket.status)


def service_notice(ticket: Ticket, timezone: str, merged_into: str | None = None) -> str:
    """What the client can tell the citizen about the ticket's handling.

    A request that reads like an emergency leads with the referral (请立即拨打119…): the
    ticket is flagged for supervisors, but the citizen must call the emergency line now.
    """
    referral = REFERRALS.get(ticket.emergency or "", "")
    notice = f"{referral}工单编号 {ticket.number}"
    if TicketStatus(ticket.status) is TicketStatus.MERGED:
        return f"{notice}，{status_notes(ticket, merged_into)}。"
    if ticket.due_at is not None and TicketStatus(ticket.status) not in CLOSED:
        due = ticket.due_at.astimezone(ZoneInfo(timezone))
        notice += f"，办理时限 {due:%Y-%m-%d %H:%M} 前"
    return notice + "。"


def request_view(
    ticket: Ticket,
    *,
    unit_name: str | None,
    service_name: str | None,
    timezone: str,
    merged_into: str | None = None,
) -> dict[str, Any]:
    """A ticket as a public service request: never the citizen's name, phone or e-mail."""
    closed = TicketStatus(ticket.status) in CLOSED
    updated = (ticket.closed_at or ticket.updated_at) if closed else ticket.updated_at
    return {
        "service_request_id": ticket.number,
        "status": "closed" if closed else "open",
        "status_notes": status_notes(ticket, merged_into),
        "service_name": service_name,
        "service_code": ticket.subcategory_code or "",
        # Citizens type phone numbers into descriptions; a public API must not repeat them.
        "description": mask_personal_data(ticket.description),
        "agency_responsible": unit_name,
        "service_notice": service_notice(ticket, timezone, merged_into),
        "requested_datetime": timestamp(ticket.created_at, timezone),
        "updated_datetime": timestamp(updated, timezone),
        "expected_datetime": timestamp(ticket.due_at, timezone),
        "address": ticket.address,
        "address_id": None,
        "zipcode": None,
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": ticket.media_url,
    }
