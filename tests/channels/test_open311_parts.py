"""Open311 pieces without HTTP: XML rendering, the service catalogue, filters, keys, migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from alembic import command
from sqlalchemy import inspect

from hotline.channels.open311 import keys
from hotline.channels.open311.catalog import load_catalog
from hotline.channels.open311.filters import parse_filters
from hotline.channels.open311.render import errors, request_view, to_xml
from hotline.classifier.taxonomy import load_taxonomy
from hotline.errors import BadRequest, ConfigError, Conflict, Forbidden, NotFound
from hotline.storage.db import Database
from hotline.storage.migrate import alembic_config, current_revision, head_revision
from hotline.storage.models import Ticket, TicketStatus
from hotline.storage.repos import open311 as repo

NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def test_xml_escapes_text_and_renders_lists_booleans_and_nulls() -> None:
    data = [{"code": "a<b", "flag": True, "none": None, "values": [{"key": "&"}]}]
    assert to_xml(data, root="services", item="service") == (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b"<services><service><code>a&lt;b</code><flag>true</flag><none />"
        b"<values><value><key>&amp;</key></value></values></service></services>"
    )


def test_errors_in_both_formats() -> None:
    response = errors(403, "api_key <missing>", fmt="xml")
    assert response.status == 403
    assert response.body == (
        b"<?xml version='1.0' encoding='utf-8'?>\n<errors><error><code>403</code>"
        b"<description>api_key &lt;missing&gt;</description></error></errors>"
    )
    assert errors(404, "无", fmt="json").text == '[{"code": 404, "description": "无"}]'


def test_request_view_masks_phones_and_maps_statuses() -> None:
    ticket = Ticket(
        number="2026112200001",
        citizen_id=1,
        channel="open311",
        title="t",
        description="电话 13800138000，路灯坏了",
        contact_phone="13800138000",
        contact_name="王小明",
        status=TicketStatus.RESOLVED,
        created_at=NOW,
        updated_at=NOW,
        closed_at=NOW + timedelta(hours=1),
        due_at=NOW + timedelta(days=3),
    )
    view = request_view(ticket, unit_name="市城管局", service_name="路灯", timezone="Asia/Shanghai")
    assert view["status"] == "closed"
    assert view["status_notes"] == "已办结"
    assert view["description"] == "电话 138****8000，路灯坏了"
    assert view["requested_datetime"] == "2026-11-22T12:00:00+08:00"
    assert view["updated_datetime"] == "2026-11-22T13:00:00+08:00"
    assert view["agency_responsible"] == "市城管局"
    assert "王小明" not in str(view)
    ticket.status = TicketStatus.ACCEPTED
    assert request_view(ticket, unit_name=None, service_name=None, timezone="UTC")["status"] == (
        "open"
    )


def test_catalog_excludes_emergencies_and_checks_its_file(tmp_path: Path) -> None:
    taxonomy = load_taxonomy()
    catalog = load_catalog(taxonomy)
    assert len(catalog.services) == 255
    assert catalog.get("0301").group == taxonomy.category("03").name
    with pytest.raises(NotFound, match="not offered"):
        catalog.get("2603")
    with pytest.raises(NotFound, match="does not exist"):
        catalog.get("0000")
    only_some = tmp_path / "services.yml"
    only_some.write_text('exclude_categories: ["26", "27"]\n', encoding="utf-8")
    assert len(load_catalog(taxonomy, only_some).services) == 266 - 8 - 9
    only_some.write_text('exclude_subcategories: ["9999"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="9999"):
        load_catalog(taxonomy, only_some)
    only_some.write_text("include: all\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="only the keys"):
        load_catalog(taxonomy, only_some)


def _filters(**query: str) -> Any:
    return parse_filters(
        query,
        now=NOW,
        timezone="Asia/Shanghai",
        window_days=90,
        limit=1000,
        visible=repo.RequestFilter(visible_channels=("open311",)),
    )


def test_filters_default_to_the_last_90_days_and_read_local_times() -> None:
    where = _filters()
    assert (where.start, where.end) == (NOW - timedelta(days=90), NOW)
    where = _filters(start_date="2026-11-01T00:00:00", status="closed,open")
    assert where.start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert set(where.statuses) == set(TicketStatus)
    where = _filters(service_request_id=" 1 ,2", status="nonsense")  # the ids override all
    assert list(where.numbers) == ["1", "2"]
    assert where.statuses is None
    assert where.visible_channels == ("open311",)
    with pytest.raises(BadRequest, match="90 days"):
        _filters(start_date="2026-01-01T00:00:00Z")


async def test_keys_are_random_hashed_and_revocable(database: Database) -> None:
    row, key = await keys.add_key(database, "partner")
    assert len(key) >= 40
    assert row.key_hash == repo.key_digest(key)
    assert key not in row.key_hash
    assert await keys.authenticate(database, key) == "partner"
    with pytest.raises(Conflict):
        await keys.add_key(database, "partner")
    _, other = await keys.add_key(database, "second")
    assert other != key
    for wrong in ("", key[:-1], key + "x"):
        with pytest.raises(Forbidden):
            await keys.authenticate(database, wrong)
    await keys.revoke_key(database, "partner")
    with pytest.raises(Forbidden, match="revoked"):
        await keys.authenticate(database, key)
    assert await keys.authenticate(database, other) == "second"
    with pytest.raises(NotFound):
        await keys.revoke_key(database, "nobody")


async def test_migration_0003_downgrades_and_upgrades_cleanly(database: Database) -> None:
    def step(connection: Any, action: str, revision: str) -> list[str]:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
        return inspect(connection).get_table_names()

    async with database.engine.begin() as connection:
        tables = await connection.run_sync(step, "downgrade", "0002")
    assert "open311_key" not in tables
    assert "ticket" in tables
    async with database.engine.begin() as connection:
        tables = await connection.run_sync(step, "upgrade", "head")
    assert "open311_key" in tables
    assert await current_revision(database) == head_revision()
    row, _ = await keys.add_key(database, "after-upgrade")
    assert row.id is not None


def test_xml_round_trips_through_a_parser() -> None:
    body = to_xml([{"description": '路灯 <坏> & "暗"'}], root="service_requests", item="request")
    assert ET.fromstring(body).findtext("request/description") == '路灯 <坏> & "暗"'


def test_a_posted_form_becomes_an_inbound_message_and_a_ticket_request() -> None:
    from aiohttp.test_utils import make_mocked_request

    from hotline.channels.open311.adapter import intake_of
    from hotline.channels.open311.schemas import validate

    form = validate(
        {
            "service_code": "0301",
            "lat": "30.1",
            "long": "120.2",
            "description": "路灯不亮",
            "last_name": "王",
            "first_name": "小明",
            "phone": "13800138000",
            "account_id": "u-7",
            "media_url": "https://img.example.com/1.jpg",
            "request_id": "r-1",
            "attribute": {"request_type": "求助"},
        }
    )
    service = load_catalog(load_taxonomy()).get("0301")
    message, ticket = intake_of(form, service, "partner", make_mocked_request("POST", "/"))
    assert message.channel == "open311"
    assert message.external_id == "partner:r-1"
    assert message.sender == "partner:u-7"
    assert message.location is not None
    assert (message.location.latitude, message.location.longitude) == (30.1, 120.2)
    assert ticket.request_type == "求助"
    assert ticket.contact_name == "王小明"
    assert ticket.description == "路灯不亮"
    assert ticket.media_url == "https://img.example.com/1.jpg"
    anonymous, _ = intake_of(form.model_copy(update={"account_id": None, "request_id": None}),
                           service, "partner", make_mocked_request("POST", "/"))  # fmt: skip
    assert anonymous.sender.startswith("partner:")
    assert anonymous.sender != message.sender
    assert anonymous.external_id.startswith("partner:")
