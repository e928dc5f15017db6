"""Shared fixtures: a migrated database on SQLite always and on PostgreSQL when configured.

Set ``HOTLINE_TEST_POSTGRES_URL`` (``.ci/run`` does) to run every database test on both. Each
PostgreSQL test session gets its own freshly created database, migrated once; tables are
truncated between tests. Each SQLite test gets a copy of a database migrated once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hotline.config import Config, parse_config
from hotline.storage.db import Database
from hotline.storage.migrate import upgrade

POSTGRES_ENV = "HOTLINE_TEST_POSTGRES_URL"
API_KEY = "test-api-key-0123456789"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _backends() -> list[Any]:
    postgres = pytest.param(
        "postgres",
        marks=pytest.mark.skipif(
            not os.environ.get(POSTGRES_ENV), reason=f"{POSTGRES_ENV} not set"
        ),
    )
    return ["sqlite", postgres]


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    admin = make_url(url).set(drivername="postgresql")
    connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hotline.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} not set")
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_all(url: str) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = await session.execute(
                text(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            )
            tables = ", ".join(f'"{name}"' for name in rows.scalars())
            await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await database.dispose()


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "hotline.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate_all(url))
    return url


async def until_waiting(database: Database, contender: asyncio.Task[Any]) -> None:
    """Return once ``contender`` waits for the transaction the test holds open, so the test
    can then let that transaction commit and see which of the two won.

    PostgreSQL: a session of the test's database waits for a lock (``pg_stat_activity``).
    SQLite: this process's writers take turns (``Database.session``), so the contender cannot
    get in while the test holds the turn; it only has to be under way.
    """
    if database.dialect == "postgresql":
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(200):
            async with database.read() as session:
                if (await session.execute(waiting)).scalar_one():
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("nothing waited for the open transaction's lock")
    else:
        await asyncio.sleep(0.2)
    assert not contender.done(), "the contender did not wait for the open transaction"


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


def make_config(tmp_path: Path, database_url: str, **overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "database": {"url": database_url},
        "channels": {"app": {"api_key": API_KEY, "websocket_poll_seconds": 0.2}},
        "logging": {"format": "text"},
        # Most tests run without a trained classifier (tickets go to triage); the classifier
        # tests train their own small model.
        "classifier": {"required": False},
        "knowledge": {"poll_seconds": 0.1},
        # The outbox worker is started by the tests that exercise it, not behind every test.
        "dispatch": {"embedded": "never"},
    }
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_config(raw, env={})


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path, database_url)


@pytest.fixture(scope="session")
def encoder() -> Any:
    """The real offline encoder, loaded once (about a second)."""
    from hotline.encoders.use_onnx import UseMultilingualOnnxEncoder

    return UseMultilingualOnnxEncoder()


@pytest.fixture(scope="session")
def kb_text_analyzer() -> Any:
    """The knowledge index's jieba analyzer, built once (about a second)."""
    from hotline.knowledge.retrieval.text import TextAnalyzer

    return TextAnalyzer()


@pytest.fixture(scope="session")
def analyzer() -> Any:
    from hotline.nlu.analyzer import Analyzer

    instance = Analyzer()
    instance.warm_up()
    return instance


def shipped_config_without_classifier(tmp_path: Path) -> Path:
    """The shipped config.yml, except that no trained classifier is required."""
    shipped = (Path(__file__).resolve().parents[1] / "config.yml").read_text(encoding="utf-8")
    assert "  required: true" in shipped
    path = tmp_path / "config.yml"
    path.write_text(shipped.replace("  required: true", "  required: false"), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A taxonomy classifier trained once per session on six utterances per subcategory.

    Lexical evidence only and two inner folds: about three seconds instead of minutes, and
    still right on plain requests. The shipped model is trained by ``hotline classifier train``.
    """
    from collections import defaultdict

    from hotline.classifier.taxonomy import load_taxonomy
    from hotline.classifier.taxonomy_training import train_taxonomy_model
    from hotline.classifier.training import TrainConfig
    from hotline.classifier.utterances import load_utterances

    taxonomy = load_taxonomy()
    per_label: defaultdict[str, list[Any]] = defaultdict(list)
    for utterance in load_utterances(taxonomy=taxonomy):
        per_label[utterance.subcategory].append(utterance)
    sample = [u for group in per_label.values() for u in group[:6]]
    model = train_taxonomy_model(
        taxonomy=taxonomy, utterances=sample, encoder=None, config=TrainConfig(inner_folds=2)
    )
    path = tmp_path_factory.mktemp("models") / "classifier"
    model.save(path)
    return path
