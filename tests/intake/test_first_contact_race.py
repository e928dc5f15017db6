"""Two first messages from one new address at once (PostgreSQL, several server processes): the
one that finds the other's citizen already made joins it, and the one whose insert loses the
race to the unique contact point is processed again, not refused; one citizen either way."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.config import Config
from hotline.intake.messages import InboundMessage
from hotline.services import build_services, running_services
from hotline.storage.models import Citizen, Message
from hotline.storage.repos import citizens


@pytest.mark.parametrize(
    ("step", "retried"),
    [
        # the other message commits after this one's look-up: its contact point is found
        ("find_by_contact", False),
        # ... after this one checked for a claim too: the insert fails, the message is retried
        ("_point", True),
    ],
)
async def test_two_first_messages_from_one_address_make_one_citizen(
    config: Config,
    analyzer: Any,
    encoder: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    step: str,
    retried: bool,
) -> None:
    services = build_services(config, analyzer=analyzer, encoder=encoder)
    if services.database.url.startswith("sqlite"):
        pytest.skip("SQLite: one writer at a time, so two first messages cannot race")
    original = getattr(citizens, step)
    calls = 0

    async def racing(session: Any, **where: Any) -> Any:
        """The first look-up finds nobody; the other message then creates the citizen."""
        nonlocal calls
        calls += 1
        found = await original(session, **where)
        if calls == 1:
            async with services.database.session() as other:
                await citizens.identify(other, kind=where["kind"], value=where["value"])
        return found

    monkeypatch.setattr(citizens, step, racing)
    caplog.set_level(logging.INFO, logger="hotline.intake.pipeline")
    async with running_services(services):
        sms = InboundMessage("sms", "+8613800138000", "SM-2", "小区门口的路灯坏了")
        result = await services.pipeline.submit(sms)
        assert result.replies
        async with services.database.read() as session:
            people = (await session.execute(select(func.count()).select_from(Citizen))).scalar()
            stored = (await session.execute(select(func.count()).select_from(Message))).scalar()
    assert calls == 2  # this message's first look, then the other message's
    assert ("intake.retry" in caplog.text) is retried
    assert people == 1
    assert stored == 1 + len(result.replies)
