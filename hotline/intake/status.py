"""How ticket states read to citizens."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hotline.storage.models import Ticket, TicketStatus

STATUS_LABELS = {
    TicketStatus.TRIAGE: "已受理，正在分派",
    TicketStatus.DISPATCHED: "已转交承办单位",
    TicketStatus.ACCEPTED: "承办单位已签收，正在办理",
    TicketStatus.RETURNED: "正在重新分派",
    TicketStatus.RESOLVED: "已办结",
    TicketStatus.CLOSED: "已办结归档",
    TicketStatus.CANCELLED: "已撤销",
    TicketStatus.MERGED: "已并入同一事项的工单合并办理",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(TicketStatus(status), status)


def due_text(ticket: Ticket, *, timezone: str) -> str | None:
    """The due time as the citizen reads it, while it still matters."""
    if ticket.due_at is None or ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return None
    return f"{ticket.due_at.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}"


def status_sentence(
    ticket: Ticket,
    *,
    timezone: str,
    unit_name: str | None = None,
    original: Ticket | None = None,
) -> str:
    """One sentence a citizen can read or hear about where their ticket stands.

    A duplicate report (``original`` given) reads as the ticket it was merged into.
    """
    if original is not None:
        merged = f"工单 {ticket.number} 已并入工单 {original.number} 合并办理"
        return f"{merged}。{status_sentence(original, timezone=timezone, unit_name=unit_name)}"
    parts = [f"工单 {ticket.number} 当前状态：{status_label(ticket.status)}"]
    if unit_name:
        parts.append(f"承办单位：{unit_name}")
    if due := due_text(ticket, timezone=timezone):
        parts.append(f"办理时限：{due}前")
    return "，".join(parts) + "。"


def not_found_sentence(number: str) -> str:
    # The same words whether the ticket does not exist or belongs to someone else: a chat
    # must not confirm that another person's ticket number is valid.
    return (
        f"没有查询到您名下编号为 {number} 的工单，请核对编号，"
        "或在工单查询页面凭登记的联系电话查询。"
    )
