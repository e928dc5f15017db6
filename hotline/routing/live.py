"""The rules in force: the newest stored version, else the rules file, followed in every process.

Production runs several server and worker processes on one database, so a save through the
staff API must reach all of them without a restart. Each process's :class:`LiveRules` polls
``max(version)`` (one cheap query) every ``poll_seconds`` and, when it grew, parses the new
document with the same validation as the file and swaps the router's rule set in one attribute
assignment: a decision in progress keeps the set it started with. The process that saved swaps
at once. Versions only grow; a late, older version never replaces a newer one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hotline.classifier.taxonomy import Taxonomy
from hotline.errors import ConfigError, StorageUnavailable
from hotline.nlu.gazetteer import Gazetteer
from hotline.routing.coverage import changes, coverage
from hotline.routing.rules import RuleSet, RulesInvalid, UnitDirectory, parse_rules
from hotline.storage.db import Database
from hotline.storage.models import RoutingRuleSet
from hotline.storage.repos import routing as repo

log = logging.getLogger(__name__)

#: how often each process asks for a newer version; edits reach every process within this
POLL_SECONDS = 1.0


class RulesHolder(Protocol):
    """What the rules are swapped on (the :class:`~hotline.routing.router.Router`)."""

    rules: RuleSet


@dataclass(frozen=True)
class RuleBook:
    """What a rules document is checked against, and the file that is in force until a save."""

    taxonomy: Taxonomy
    gazetteer: Gazetteer
    directory: UnitDirectory
    path: Path

    def parse(self, text: str, source: str = "the document") -> RuleSet:
        """Validate ``text`` as the file is validated; raises :class:`RulesInvalid`."""
        return parse_rules(text, self.taxonomy, self.gazetteer, self.directory, source=source)

    def seed(self) -> str:
        """The rules file's text (version 0)."""
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"routing rules: cannot read {self.path}: {exc}") from exc


class LiveRules:
    """Keeps ``holder.rules`` at the newest stored version; ``version`` 0 means the file."""

    def __init__(
        self, holder: RulesHolder, book: RuleBook, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.holder = holder
        self.book = book
        self.poll_seconds = poll_seconds
        self.version = 0
        self._refused = 0
        self._task: asyncio.Task[None] | None = None

    def install(self, version: int, rules: RuleSet) -> bool:
        """Put ``rules`` in force unless a newer version already is."""
        if version <= self.version:
            return False
        self.holder.rules = rules
        self.version = version
        log.info("routing.rules.installed version=%d rules=%d", version, len(rules.rules))
        return True

    async def refresh(self, database: Database) -> bool:
        """Install the newest stored version if it is newer; raises if it no longer validates."""
        async with database.read() as session:
            newest = await repo.newest_version(session)
            row = await repo.get(session, version=newest) if newest > self.version else None
        if row is None or row.version == self._refused:
            return False
        try:
            rules = await asyncio.to_thread(self.book.parse, row.document, f"version {newest}")
        except RulesInvalid:
            self._refused = row.version
            raise
        return self.install(row.version, rules)

    async def save(
        self,
        database: Database,
        *,
        document: str,
        base_version: int,
        author: str,
        comment: str | None = None,
    ) -> RoutingRuleSet:
        """Validate, store as ``base_version + 1`` and put in force here at once.

        :class:`RulesInvalid` stores nothing; a stale base is a :class:`~hotline.errors.Conflict`.
        """
        rules = await asyncio.to_thread(self.book.parse, document)
        async with database.session() as session:
            row = await repo.add(
                session,
                document=document,
                base_version=base_version,
                author=author,
                comment=comment,
            )
        self.install(row.version, rules)
        log.info("routing.rules.saved version=%d author=%s", row.version, author)
        return row

    def check(self, document: str) -> dict[str, Any]:
        """A dry run of a save: the problems, or the coverage and what would route elsewhere."""
        try:
            rules = self.book.parse(document)
        except RulesInvalid as exc:
            return {"valid": False, "errors": list(exc.errors)}
        book = self.book
        return {
            "valid": True,
            "errors": [],
            "coverage": coverage(rules, book.taxonomy),
            "changes": changes(self.holder.rules, rules, book.taxonomy, book.gazetteer),
            "compared_with_version": self.version,
        }

    async def start(self, database: Database) -> None:
        """Load the newest version now (a bad one stops start-up), then follow in the background.

        An unreachable database does not stop start-up: nothing can be routed without it, and
        the follower loads the newest version as soon as it answers.
        """
        try:
            await self.refresh(database)
        except StorageUnavailable:
            log.warning("routing.rules.start_deferred reason=database unavailable")
        except RulesInvalid as exc:
            raise ConfigError(
                f"{exc.message} (stored version {self._refused} no longer fits the units, "
                "gazetteer or taxonomy; restore what it names, or save a corrected version "
                "through PUT /api/v1/staff/routing/rules from a process that runs)"
            ) from exc
        self._task = asyncio.create_task(self._follow(database), name="routing-rules-follow")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _follow(self, database: Database) -> None:
        failures = 0
        while True:
            # Back off while the database is unreachable instead of logging every second.
            await asyncio.sleep(min(self.poll_seconds * 2**failures, 30.0))
            try:
                await self.refresh(database)
                failures = 0
            except asyncio.CancelledError:
                raise
            except RulesInvalid as exc:
                # Logged once per version; the process keeps routing by the rules it has.
                log.error("routing.rules.refused version=%d: %s", self._refused, exc.message)
            except Exception:
                failures = min(failures + 1, 10)
                log.exception("routing.rules.follow_failed version=%d", self.version)
