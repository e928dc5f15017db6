"""Duplicate reports: the same subcategory at the same place within the window joins the open
ticket (merged, not routed, counted); anything else is a ticket of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from hotline.channels.open311 import render
from hotline.intake.duplicates import DuplicateDetector, distance_m, lock_key
from hotline.intake.messages import InboundMessage, IntakeResult, Location
from hotline.intake.steps import ClassificationResult, Suggestion
from hotline.intake.tickets import TicketRequest
from hotline.sample.loader import load_units
from hotline.services import Services, build_services
from hotline.storage.db import Database
from hotline.storage.models import Citizen, Dispatch, Role, Ticket, TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.repos import units
from hotline.web.app import create_app
from hotline.web.staff_views import ticket_detail
from tests.conftest import make_config
from tests.web.conftest import ClientFactory, add_user, login

LAMP = ("05", "0503")  # 路灯: routed to the street (街道) the place lies in
NOISE = ("15", "1503")
PLACE = "江南区文昌街道学府路12号"


class KeywordClassifier:
    """A confident model that knows two subcategories by a keyword."""

    async def classify(self, text: str) -> ClassificationResult | None:
        codes = LAMP if "路灯" in text else NOISE if "噪" in text else None
        if codes is None:
            return None
        return ClassificationResult((Suggestion(*codes, 0.95),), True, "test")


def build(tmp_path: Path, url: str, analyzer: Any, encoder: Any, **intake: Any) -> Services:
    config = make_config(tmp_path, url, knowledge={"enabled": False}, intake=intake)
    return build_services(
        config, analyzer=analyzer, encoder=encoder, classifier=KeywordClassifier()
    )


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    built = build(tmp_path, database_url, analyzer, encoder)
    async with built.database.session() as session:
        await load_units(session)
    yield built
    await built.database.dispose()


_SEQ = iter(range(1_000_000))


async def report(
    services: Services,
    address: str | None = PLACE,
    codes: tuple[str, str] = LAMP,
    *,
    text: str = "门口的路灯坏了一周，晚上一片漆黑",
    location: Location | None = None,
) -> IntakeResult:
    """A letter (form) whose citizen chose the subcategory; a new citizen each time."""
    n = next(_SEQ)
    message = InboundMessage(
        channel="letter",
        sender=f"139{n:08d}",
        external_id=f"letter-{n}",
        text=text,
        contact_phone=f"139{n:08d}",
        location=location,
    )
    request = TicketRequest(
        description=text,
        address=address,
        contact_phone=message.contact_phone,
        category_code=codes[0],
        subcategory_code=codes[1],
    )
    return await services.pipeline.submit_letter(message, request)


def number_of(result: IntakeResult) -> str:
    assert result.ticket is not None
    return result.ticket.number


async def ticket(services: Services, number: str) -> Ticket:
    async with services.database.read() as session:
        return await ticket_repo.by_number(session, number=number)


async def actions(services: Services, found: Ticket) -> list[tuple[str, str | None]]:
    async with services.database.read() as session:
        events = await ticket_repo.history(session, ticket_id=found.id or 0)
    return [(e.action, e.to_value) for e in events]


async def dispatches(services: Services) -> int:
    async with services.database.read() as session:
        count = await session.execute(select(func.count()).select_from(Dispatch))
    return int(count.scalar_one())


async def test_same_matter_at_the_same_place_is_merged_into_the_open_ticket(
    services: Services,
) -> None:
    first = number_of(await report(services))
    again = await report(services, "学府路12号门口")  # the same address, said differently
    second = number_of(again)
    original, duplicate = await ticket(services, first), await ticket(services, second)
    assert original.status == TicketStatus.DISPATCHED
    assert (original.report_count, original.duplicate_of_id) == (2, None)
    assert duplicate.status == TicketStatus.MERGED
    assert duplicate.duplicate_of_id == original.id
    assert (duplicate.unit_id, duplicate.due_at, duplicate.report_count) == (None, None, 1)
    assert await dispatches(services) == 1  # the unit was sent the original only
    assert ("duplicate_linked", first) in await actions(services, duplicate)
    assert ("dispatched", None) not in [(a, None) for a, _ in await actions(services, duplicate)]
    assert ("duplicate_reported", second) in await actions(services, original)
    (reply,) = again.replies
    assert f"工单 {first} 正在办理" in reply.text
    assert "当前状态：已转交承办单位，办理时限：" in reply.text
    assert f"登记为工单 {second}，并入该工单合并办理" in reply.text
    assert again.ticket is not None
    assert again.ticket.status == TicketStatus.MERGED
    third = number_of(await report(services, PLACE))
    assert (await ticket(services, third)).duplicate_of_id == original.id
    assert (await ticket(services, first)).report_count == 3


async def _close(services: Services, number: str) -> None:
    async with services.database.session() as session:
        found = await ticket_repo.by_number(session, number=number)
        found.status = TicketStatus.CLOSED
        await ticket_repo.touch(session, found)


async def _age(services: Services, number: str) -> None:
    async with services.database.session() as session:
        found = await ticket_repo.by_number(session, number=number)
        found.created_at -= timedelta(hours=72, minutes=1)
        await ticket_repo.touch(session, found)


@pytest.mark.parametrize(
    ("case", "address", "codes"),
    [
        ("another house on the road", "江南区学府路30号", LAMP),
        ("the road alone is less precise", "江南区学府路", LAMP),
        ("another subcategory", PLACE, NOISE),
        ("outside the window", PLACE, LAMP),
        ("the original is closed", PLACE, LAMP),
        ("no place at all", None, LAMP),
    ],
)
async def test_anything_else_is_a_ticket_of_its_own(
    services: Services, case: str, address: str | None, codes: tuple[str, str]
) -> None:
    first = number_of(await report(services, None if case == "no place at all" else PLACE))
    if case == "outside the window":
        await _age(services, first)
    if case == "the original is closed":
        await _close(services, first)
    second = number_of(await report(services, address, codes))
    original, other = await ticket(services, first), await ticket(services, second)
    assert other.duplicate_of_id is None
    assert other.status != TicketStatus.MERGED
    assert original.report_count == 1
    assert "duplicate_linked" not in [a for a, _ in await actions(services, other)]


async def test_a_window_of_zero_disables_linking(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> None:
    services = build(tmp_path, database_url, analyzer, encoder, duplicate_window_hours=0)
    try:
        first, second = [number_of(await report(services)) for _ in range(2)]
        assert (await ticket(services, second)).duplicate_of_id is None
        assert (await ticket(services, first)).report_count == 1
    finally:
        await services.database.dispose()


async def test_coordinates_within_100_m_are_the_same_place(services: Services) -> None:
    here = Location(latitude=30.2741, longitude=120.1551)
    near = Location(latitude=30.2741 + 0.0008, longitude=120.1551)  # ~89 m north
    far = Location(latitude=30.2741 + 0.0012, longitude=120.1551)  # ~133 m north
    assert 85 < distance_m((30.2741, 120.1551), (30.2749, 120.1551)) < 95
    first = number_of(await report(services, None, location=here))
    near_one = number_of(await report(services, None, location=near))
    far_one = number_of(await report(services, PLACE, location=far))  # text would match
    assert (await ticket(services, near_one)).status == TicketStatus.MERGED
    assert (await ticket(services, far_one)).duplicate_of_id is None
    assert (await ticket(services, first)).report_count == 2


async def _chat(services: Services, sender: str, turns: list[str]) -> IntakeResult:
    result = None
    for text in turns:
        message = InboundMessage(
            channel="app", sender=sender, external_id=f"{sender}-{next(_SEQ)}", text=text
        )
        result = await services.pipeline.submit(message)
    assert result is not None
    return result


async def test_a_chat_report_is_told_and_its_status_names_the_original(
    services: Services,
) -> None:
    lamp = ["学府路12号门口的路灯坏了，晚上一片漆黑", "13800138000", "确认"]
    first = number_of(await _chat(services, "u1", lamp))
    lamp[1] = "13900139000"
    merged = await _chat(services, "u2", lamp)
    second = number_of(merged)
    assert (await ticket(services, second)).duplicate_of_id == (await ticket(services, first)).id
    assert any(f"工单 {first} 正在办理" in r.text for r in merged.replies)
    asked = await _chat(services, "u2", [f"查询工单 {second} 的进度"])
    assert f"工单 {second} 已并入工单 {first} 合并办理。工单 {first} 当前状态：已转交承办单位" in (
        asked.replies[0].text
    )
    status = await services.queries.ticket_status(second, "13900139000")
    assert status["status"] == "merged"
    assert status["merged_into"]["number"] == first
    assert status["merged_into"]["status"] == "dispatched"
    assert status["merged_into"]["due_at"] is not None
    own = await services.queries.ticket_status(first, "13800138000")
    assert own["merged_into"] is None


async def test_the_unit_sees_one_ticket_with_the_count(
    services: Services, aiohttp_client: ClientFactory
) -> None:
    first = number_of(await report(services))
    second = number_of(await report(services))
    async with services.database.read() as session:
        unit = await units.get(session, unit_id=(await ticket(services, first)).unit_id or 0)
    await add_user(services, "street", Role.UNIT, unit_id=unit.id)
    await add_user(services, "agent", Role.AGENT)
    client = await aiohttp_client(create_app(services))
    listed = await client.get("/api/v1/staff/tickets", headers=await login(client, "street"))
    body = await listed.json()
    assert body["total"] == 1
    (row,) = body["tickets"]
    assert (row["number"], row["report_count"], row["duplicate_of_id"]) == (first, 2, None)
    agent = await login(client, "agent")
    merged = await client.get("/api/v1/staff/tickets?status=merged", headers=agent)
    (row,) = (await merged.json())["tickets"]
    assert (row["number"], row["status_label"]) == (second, "已并入同一事项的工单合并办理")
    assert row["duplicate_of_id"] == (await ticket(services, first)).id
    detail = ticket_detail(await ticket(services, second), duplicate_of=first)
    assert (detail["duplicate_of"], detail["report_count"]) == (first, 1)


async def test_every_reporter_hears_the_resolution_under_their_own_number(
    services: Services, aiohttp_client: ClientFactory
) -> None:
    first, second, third = [number_of(await report(services)) for _ in range(3)]
    original = await ticket(services, first)
    await add_user(services, "street", Role.UNIT, unit_id=original.unit_id)
    client = await aiohttp_client(create_app(services))
    street = await login(client, "street")
    base = f"/api/v1/staff/tickets/{first}"
    assert (await client.post(f"{base}/accept", json={}, headers=street)).status == 200
    done = await client.post(f"{base}/resolve", json={"reply": "路灯已修复"}, headers=street)
    assert done.status == 200, await done.text()
    assert (await done.json())["message"]["text"] == f"【工单 {first} 办理结果】路灯已修复"
    for number in (second, third):
        merged = await ticket(services, number)
        conversation = await services.queries.conversation(merged.conversation_id or "")
        last = conversation["messages"][-1]
        assert last["direction"] == "out"
        assert last["text"] == (
            f"【工单 {number} 办理结果】（已并入工单 {first} 合并办理）路灯已修复"
        )
        assert ("result_relayed", first) in await actions(services, merged)
        assert merged.status == TicketStatus.MERGED


async def test_open311_shows_a_merged_request_as_closed_naming_the_original(
    services: Services,
) -> None:
    first = number_of(await report(services))
    duplicate = await ticket(services, number_of(await report(services)))
    view = render.request_view(
        duplicate, unit_name=None, service_name="路灯", timezone="Asia/Shanghai", merged_into=first
    )
    assert (view["status"], view["status_notes"]) == ("closed", f"已并入工单 {first} 合并办理")
    assert f"已并入工单 {first}" in view["service_notice"]
    assert render.open_or_closed(duplicate.status) == "closed"
    plain = render.request_view(duplicate, unit_name=None, service_name=None, timezone="UTC")
    assert plain["status_notes"] == "已并入同一事项的工单合并办理"


# --- "the same place" --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> DuplicateDetector:
    return DuplicateDetector(window=timedelta(hours=72))


SAME = [
    ("江北区望江路18号", "望江路18号门口"),
    ("临江市江北区望江路18号", "江北区望江路18号"),
    ("市一医院门口", "临江市第一人民医院"),  # an alias of the landmark
    ("望江社区", "江北区望江街道望江社区"),
    ("解放路与胜利路交叉口", "胜利路和解放路路口"),
    ("江北区人民路", "人民路江北区段"),
    ("江北区 望江路", "望江路"),
    ("幸福里菜市场", "幸福里菜市场。"),  # unknown to the gazetteer: the normalised text
    ("阳光小区3栋", "阳光小区３栋"),  # full-width digits
    ("江北区人民路18号", "人民路18号（江北区）"),  # a road across districts, with its district
    ("解放路与人民路路口", "人民路和解放路交叉口"),  # 解放路 fixes the district of the crossing
    ("望江社区12栋", "临江市江北区望江社区12栋门口"),
    ("幸福里菜市场3-12号摊", "幸福里菜市场 3－12 号摊"),
]
DIFFERENT = [
    ("望江路18号", "望江路20号"),
    ("望江路", "望江路18号"),  # different precision: not assumed to be the same
    ("江北区人民路", "江南区人民路"),  # a road across districts, in two of them
    ("望江社区", "江滨社区"),
    ("阳光小区3栋", "阳光小区5栋"),
    ("江北区人民路18号", "江南区人民路18号"),  # the same number on a road in two districts
    ("望江社区12栋", "望江社区3栋"),  # a number the patterns miss still tells them apart
    ("望江社区12栋", "望江社区"),
    ("市一医院3号楼", "市一医院5号楼"),
    ("幸福里3-12", "幸福里31-2"),  # unknown text: a separator between digits is kept
]
NO_PLACE = [
    "江北区", "望江街道", "人民路", "人民路18号", "我家楼下", "这里", "附近", "", "  ",
    "。，！？", "１２３４５",
]  # fmt: skip


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_place(detector: DuplicateDetector, a: str, b: str) -> None:
    first, second = detector.place_of(a, None, None), detector.place_of(b, None, None)
    assert first is not None
    assert second is not None
    assert first.same_as(second), (first, second)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_places(detector: DuplicateDetector, a: str, b: str) -> None:
    first, second = detector.place_of(a, None, None), detector.place_of(b, None, None)
    assert first is not None
    assert second is not None
    assert not first.same_as(second), (first, second)


@pytest.mark.parametrize("address", NO_PLACE)
def test_coarse_or_relative_addresses_are_no_place(
    detector: DuplicateDetector, address: str
) -> None:
    assert detector.place_of(address, None, None) is None


def test_the_lock_key_is_stable_across_processes() -> None:
    # sha256-based, so every process agrees (Python's hash() of a str is salted per process).
    assert lock_key("0503") == lock_key("0503") != lock_key("0504")
    assert -(2**63) <= lock_key("0503") < 2**63
    # Pinned: comparing within one process passes with a salted hash() too, and a key that
    # changed between releases would let old and new processes skip each other's lock.
    assert lock_key("0503") == -1985134339521242254


# --- concurrency -------------------------------------------------------------------------------


async def _originals(database: Database) -> int:
    async with database.read() as session:
        rows = await session.execute(
            select(func.count()).select_from(Ticket).where(col(Ticket.duplicate_of_id).is_(None))
        )
    return int(rows.scalar_one())


async def test_two_processes_reporting_at_once_make_one_original(
    services: Services, tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> None:
    other = build(tmp_path, database_url, analyzer, encoder)  # its own engine and pool
    try:
        for _ in range(3):
            await asyncio.gather(report(services), report(other))
        assert await _originals(services.database) == 1
        async with services.database.read() as session:
            counts = (await session.execute(select(Ticket.report_count))).scalars().all()
        assert sorted(counts) == [1] * 5 + [6]
    finally:
        await other.database.dispose()


async def test_a_search_waits_for_the_report_still_being_committed(database_url: str) -> None:
    """Two transactions, the second searching while the first is not yet committed: without
    the advisory lock (PostgreSQL) it would not see the first and both would be originals."""
    first_db, second_db = Database(database_url), Database(database_url)
    detector = DuplicateDetector(window=timedelta(hours=1))
    linked = asyncio.Event()
    try:
        async with first_db.session() as session:
            citizen = Citizen()
            session.add(citizen)
        citizen_id = citizen.id or 0

        async def one(database: Database, number: str, hold: bool) -> Ticket | None:
            if not hold:
                await linked.wait()
            async with database.session() as session:
                new = Ticket(
                    number=number, citizen_id=citizen_id, channel="test", title="路灯",
                    description="路灯坏了", address=PLACE, subcategory_code="0503",
                )  # fmt: skip
                session.add(new)
                await session.flush()
                original = await detector.link(session, new)
                if hold:
                    linked.set()
                    await asyncio.sleep(0.5)  # still uncommitted while the other one searches
            return original

        first, second = await asyncio.gather(
            one(first_db, "2026112200001", True), one(second_db, "2026112200002", False)
        )
        assert first is None
        assert second is not None
        assert second.number == "2026112200001"
        assert await _originals(first_db) == 1
    finally:
        await first_db.dispose()
        await second_db.dispose()


async def test_a_failed_link_leaves_nothing_half_written(services: Services) -> None:
    """The link is part of the new ticket's transaction: if anything after it fails, neither
    the new ticket nor the original's count is stored."""
    first = number_of(await report(services))

    class CrashAfterLinking(DuplicateDetector):
        async def link(self, session: Any, ticket: Ticket) -> Ticket | None:
            assert await super().link(session, ticket) is not None
            raise RuntimeError("crash after linking")

    services.pipeline._duplicates = CrashAfterLinking(window=timedelta(hours=72))
    with pytest.raises(RuntimeError, match="crash after linking"):
        await report(services)
    assert (await ticket(services, first)).report_count == 1
    async with services.database.read() as session:
        total = await session.execute(select(func.count()).select_from(Ticket))
        events = await ticket_repo.history(
            session, ticket_id=(await ticket(services, first)).id or 0
        )
    assert total.scalar_one() == 1
    assert "duplicate_reported" not in [e.action for e in events]
