"""Stored rule versions: validated saves, stale bases, and every process following the newest."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hotline.classifier.taxonomy import Taxonomy, load_taxonomy
from hotline.cli.main import cli
from hotline.errors import ConfigError, Conflict
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from hotline.routing.live import LiveRules
from hotline.routing.router import Router, build_router
from hotline.routing.rules import DEFAULT_RULES_PATH, RulesInvalid, UnitDirectory
from hotline.storage.db import Database
from hotline.storage.models import RoutingRuleSet
from hotline.storage.repos import routing as repo
from tests.conftest import API_KEY, shipped_config_without_classifier

SEED = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
#: the seed plus one rule sending 社会保险 (0901) to 生态环境局 instead of 人社局
MOVED = (
    SEED + "  - {description: 测试改派, priority: 500, match: {subcategory: '0901'}, unit: LJ-HB}\n"
)
MOVED_AGAIN = MOVED.replace("unit: LJ-HB}", "unit: LJ-CG}")


@pytest.fixture(scope="module")
def parts() -> tuple[Taxonomy, Gazetteer, UnitDirectory]:
    return load_taxonomy(), load_gazetteer(), UnitDirectory.from_file()


def make_router(parts: tuple[Taxonomy, Gazetteer, UnitDirectory]) -> tuple[Router, LiveRules]:
    taxonomy, gazetteer, directory = parts
    router = build_router(taxonomy=taxonomy, gazetteer=gazetteer, directory=directory)
    assert router.live is not None
    return router, router.live


def unit_for(router: Router, subcategory: str) -> str:
    return router.decide(subcategory_code=subcategory).unit.code


async def stored_count(database: Database) -> int:
    async with database.read() as session:
        return int(
            (await session.execute(select(func.count()).select_from(RoutingRuleSet))).scalar_one()
        )


async def test_save_installs_at_once_and_versions_grow(
    database: Database, parts: tuple[Taxonomy, Gazetteer, UnitDirectory]
) -> None:
    router, live = make_router(parts)
    assert unit_for(router, "0901") == "LJ-RS"
    row = await live.save(database, document=MOVED, base_version=0, author="boss", comment="试")
    assert (row.version, live.version, unit_for(router, "0901")) == (1, 1, "LJ-HB")
    await live.save(database, document=MOVED_AGAIN, base_version=1, author="boss")
    assert unit_for(router, "0901") == "LJ-CG"
    async with database.read() as session:
        history = await repo.history(session, limit=10, offset=0)
    assert [(r.version, r.author, r.comment) for r in history] == [
        (2, "boss", None),
        (1, "boss", "试"),
    ]
    assert history[1].document == MOVED


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("rules: [\n", "cannot read the document"),
        ("colour: red\n", "must hold a non-empty list 'rules'"),
        (SEED + "  - {description: x, unit: LJ-NOPE}\n", r"rules\[\d+\].unit: unknown unit code"),
        (
            "rules:\n  - {description: 只管社保, match: {category: '09'}, unit: LJ-RS}\n",
            r"subcategories route nowhere when the area is unknown \(0101, ",
        ),
    ],
)
async def test_invalid_documents_store_nothing(
    database: Database,
    parts: tuple[Taxonomy, Gazetteer, UnitDirectory],
    document: str,
    message: str,
) -> None:
    router, live = make_router(parts)
    before = router.rules
    with pytest.raises(RulesInvalid, match=message):
        await live.save(database, document=document, base_version=0, author="boss")
    assert await stored_count(database) == 0
    assert router.rules is before
    assert live.version == 0


def test_every_bad_rule_is_reported(parts: tuple[Taxonomy, Gazetteer, UnitDirectory]) -> None:
    _, live = make_router(parts)
    bad = (
        SEED
        + "  - {description: x, unit: LJ-NOPE}\n  - {description: y, priority: high, unit: LJ}\n"
    )
    report = live.check(bad)
    assert report["valid"] is False
    assert len(report["errors"]) == 2
    assert "unknown unit code 'LJ-NOPE'" in report["errors"][0]
    assert ".priority must be an integer" in report["errors"][1]


def test_check_reports_coverage_and_changes(
    parts: tuple[Taxonomy, Gazetteer, UnitDirectory],
) -> None:
    _, live = make_router(parts)
    report = live.check(MOVED)
    assert report["valid"] is True
    assert report["coverage"]["covered"] == report["coverage"]["subcategories"] == 266
    assert report["coverage"]["uncovered"] == []
    moved = {(c["subcategory"], c["from"], c["to"]) for c in report["changes"]}
    assert moved == {("0901", "LJ-RS", "LJ-HB")}
    assert {c["area"] for c in report["changes"]} >= {"unknown", "江北区", "江北区望江街道"}


async def test_a_stale_base_is_refused(
    database: Database, parts: tuple[Taxonomy, Gazetteer, UnitDirectory]
) -> None:
    _, live = make_router(parts)
    await live.save(database, document=MOVED, base_version=0, author="a")
    with pytest.raises(Conflict, match="version 1 is in force, the edit is based on version 0"):
        await live.save(database, document=MOVED_AGAIN, base_version=0, author="b")
    with pytest.raises(Conflict):
        await live.save(database, document=MOVED_AGAIN, base_version=5, author="b")
    assert await stored_count(database) == 1


async def test_concurrent_saves_on_one_base_let_exactly_one_through(
    database_url: str, parts: tuple[Taxonomy, Gazetteer, UnitDirectory]
) -> None:
    """Two processes (own engines) saving on the same base: the constraint decides."""
    databases = [Database(database_url) for _ in range(4)]
    lives = [make_router(parts)[1] for _ in databases]
    try:
        results = await asyncio.gather(
            *(
                live.save(db, document=MOVED, base_version=0, author=f"s{i}")
                for i, (live, db) in enumerate(zip(lives, databases, strict=True))
            ),
            return_exceptions=True,
        )
        assert sum(isinstance(r, RoutingRuleSet) for r in results) == 1, results
        assert all(isinstance(r, (RoutingRuleSet, Conflict)) for r in results), results
        assert await stored_count(databases[0]) == 1
    finally:
        for db in databases:
            await db.dispose()


async def test_another_process_follows(
    database_url: str, parts: tuple[Taxonomy, Gazetteer, UnitDirectory]
) -> None:
    """A second router with its own Database object, as in another server process. It follows
    within a poll or two (a second each); the deadline is generous so that a loaded machine
    does not fail it: how fast is measured, not asserted."""
    saving_db, other_db = Database(database_url), Database(database_url)
    _, saver_live = make_router(parts)
    other, other_live = make_router(parts)
    await other_live.start(other_db)  # default poll interval
    try:
        assert unit_for(other, "0901") == "LJ-RS"
        await saver_live.save(saving_db, document=MOVED, base_version=0, author="boss")
        started = time.monotonic()
        while unit_for(other, "0901") != "LJ-HB":
            assert time.monotonic() - started < 15.0, "the other process did not follow"
            await asyncio.sleep(0.05)
        assert other_live.version == 1
    finally:
        await other_live.stop()
        await saving_db.dispose()
        await other_db.dispose()


async def test_start_loads_the_newest_and_refuses_one_that_no_longer_validates(
    database: Database, parts: tuple[Taxonomy, Gazetteer, UnitDirectory]
) -> None:
    _, live = make_router(parts)
    await live.save(database, document=MOVED, base_version=0, author="boss")
    fresh, fresh_live = make_router(parts)
    await fresh_live.start(database)
    await fresh_live.stop()
    assert (fresh_live.version, unit_for(fresh, "0901")) == (1, "LJ-HB")
    # Version 2 names 江北区政府 (JB), which a later units file no longer has.
    await live.save(database, document=MOVED.replace("LJ-HB", "JB"), base_version=1, author="b")
    taxonomy, gazetteer, directory = parts
    fewer = UnitDirectory(u for u in directory.units.values() if u.code != "JB")
    shrunk = build_router(taxonomy=taxonomy, gazetteer=gazetteer, directory=fewer)
    assert shrunk.live is not None
    with pytest.raises(ConfigError, match=r"unknown unit code 'JB' \(stored version 2"):
        await shrunk.live.start(database)


async def test_an_older_version_never_replaces_a_newer_one(
    parts: tuple[Taxonomy, Gazetteer, UnitDirectory],
) -> None:
    router, live = make_router(parts)
    newer, older = live.book.parse(MOVED_AGAIN), live.book.parse(MOVED)
    assert live.install(2, newer) is True
    assert live.install(1, older) is False
    assert router.rules is newer


async def _save_moved(url: str) -> None:
    database = Database(url)
    try:
        _, live = make_router((load_taxonomy(), load_gazetteer(), UnitDirectory.from_file()))
        await live.save(database, document=MOVED, base_version=0, author="boss")
    finally:
        await database.dispose()


def test_the_cli_uses_the_stored_rules(tmp_path: Path, database_url: str) -> None:
    env = {
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_CONFIG": str(shipped_config_without_classifier(tmp_path)),
    }
    args = ["routing", "explain", "--subcategory", "0901", "--json"]
    before = CliRunner().invoke(cli, args, env=env)
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["unit"]["code"] == "LJ-RS"
    assert "(no stored version)" in json.loads(before.output)["rules"]
    asyncio.run(_save_moved(database_url))
    after = CliRunner().invoke(cli, args, env=env)
    data = json.loads(after.output)
    assert (data["unit"]["code"], data["rules"]) == ("LJ-HB", "stored version 1 (database)")
    checked = CliRunner().invoke(cli, ["routing", "check"], env=env)
    assert checked.exit_code == 0, checked.output
    assert "in force:    stored version 1 (database): ok" in checked.output
    assert "coverage:    266/266 subcategories" in checked.output


async def test_an_unreachable_database_does_not_stop_start_up(
    parts: tuple[Taxonomy, Gazetteer, UnitDirectory],
) -> None:
    database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    router, live = make_router(parts)
    try:
        await live.start(database)
        assert (live.version, unit_for(router, "0901")) == (0, "LJ-RS")
    finally:
        await live.stop()
        await database.dispose()
