"""Assembling the service from configuration: database, NLU, encoder, steps and the pipeline.

``build_services`` only constructs; ``start_services`` loads what takes time or I/O (the
classifier artifact is loaded at build time so a missing one stops start-up at once; the
knowledge index is opened and followed at start) and ``stop_services`` undoes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from hotline.callbacks.service import Callbacks
from hotline.callbacks.setup import build_callback_worker, build_callbacks
from hotline.callbacks.worker import CallbackWorker
from hotline.channels.push import PushWorker
from hotline.classifier.intake_step import load_classifier_step
from hotline.classifier.taxonomy import Taxonomy, load_taxonomy
from hotline.config import Config
from hotline.encoders.base import Encoder
from hotline.encoders.factory import load_encoder
from hotline.errors import NotFound, ValidationFailed
from hotline.intake.handoff import CallBridge
from hotline.intake.hub import ReplyHub
from hotline.intake.pipeline import IntakePipeline
from hotline.intake.policy import PolicySettings
from hotline.intake.queries import CitizenQueries
from hotline.intake.settings import IntakeSettings, TextAnalyzer
from hotline.intake.steps import ClassifierStep, NoKnowledge, NoRouter, RouterStep
from hotline.intake.tickets import TicketFactory
from hotline.intake.wait_limit import WaitLimitSweeper
from hotline.knowledge.answering import KnowledgeAnswerer
from hotline.knowledge.retrieval.text import TextAnalyzer as KbTextAnalyzer
from hotline.knowledge.sync import KnowledgeIndex
from hotline.observability import Metrics
from hotline.routing.router import Router, build_router, live_rules, settings_from
from hotline.routing.worker import Worker, worker_name
from hotline.storage.db import Database
from hotline.workers import (
    build_mail_poller,
    build_pusher,
    build_wait_sweeper,
    build_worker,
    call_bridge,
    embeds_worker,
    push_channels,
)

if TYPE_CHECKING:
    from hotline.channels.email.poller import EmailPoller


@dataclass(frozen=True)
class TaxonomyCheck:
    """Accepts only category / subcategory pairs of the configured taxonomy."""

    taxonomy: Taxonomy

    def check(self, category: str, subcategory: str) -> None:
        try:
            entry = self.taxonomy.subcategory(subcategory)
        except NotFound as e:
            raise ValidationFailed(f"subcategory: {subcategory} is not in the taxonomy") from e
        if entry.category_code != category:
            raise ValidationFailed(
                f"category: subcategory {subcategory} belongs to "
                f"{entry.category_code}, not {category}"
            )


@dataclass(frozen=True)
class Services:
    config: Config
    database: Database
    pipeline: IntakePipeline
    queries: CitizenQueries
    hub: ReplyHub
    metrics: Metrics
    taxonomy: Taxonomy
    knowledge_index: KnowledgeIndex | None
    answerer: KnowledgeAnswerer | None
    router: RouterStep
    #: the outbox worker running inside this process (SQLite's single process), if any
    worker: Worker | None = None
    #: pushes to citizens on WeChat running inside this process, if any
    pusher: PushWorker | None = None
    #: the citizens' mailbox polled inside this process (SQLite), if the channel is enabled
    mail: EmailPoller | None = None
    #: satisfaction callbacks (回访); None when switched off
    callbacks: Callbacks | None = None
    #: asking the callbacks' questions inside this process, if any
    callback_worker: CallbackWorker | None = None
    #: for the agents' live desk: the classifier, ticket filing, bridging callers to agents
    classifier: ClassifierStep | None = None
    tickets: TicketFactory | None = None
    call_bridge: CallBridge | None = None
    #: written citizens waiting too long for a person go back to the bot inside this process
    wait_sweeper: WaitLimitSweeper | None = None


def default_analyzer() -> TextAnalyzer:
    from hotline.nlu.analyzer import Analyzer

    analyzer = Analyzer()
    analyzer.warm_up()
    return analyzer


def build_services(
    config: Config,
    *,
    analyzer: TextAnalyzer | None = None,
    encoder: Encoder | None = None,
    classifier: ClassifierStep | None = None,
    router: RouterStep | None = None,
    kb_analyzer: KbTextAnalyzer | None = None,
) -> Services:
    """Everything the web app and the CLI share; created once in ``main()`` or a test.

    Raises :class:`~hotline.errors.ModelError` when the classifier is required but its
    artifact is missing or incompatible: the service never runs untrained.
    """
    database = Database(
        config.database_url, pool_size=config.database.pool_size, echo=config.database.echo
    )
    taxonomy = load_taxonomy()
    encoder = encoder or load_encoder(config.encoder.backend, config.encoder.model or None)
    classifier = classifier or load_classifier_step(
        config.classifier_path,
        taxonomy=taxonomy,
        encoder=encoder,
        required=config.classifier.required,
        top_k=config.classifier.top_k,
    )
    index, answerer = _knowledge(config, database, encoder, kb_analyzer)
    router = router or _router(config, taxonomy)
    metrics, hub = Metrics(), ReplyHub()
    deadlines = router if isinstance(router, Router) else None
    callbacks = build_callbacks(config, database, push_channels(config), deadlines)
    tickets = TicketFactory(
        classifier=classifier,
        router=router,
        timezone=config.intake.timezone,
        sequence_digits=config.intake.ticket_sequence_digits,
        counters=database.counters,
        country_code=config.callbacks.country_code,
    )
    pipeline = IntakePipeline(
        database=database,
        analyzer=analyzer or default_analyzer(),
        tickets=tickets,
        classifier=classifier,
        knowledge=answerer or NoKnowledge(),
        settings=_intake_settings(config),
        metrics=metrics,
        hub=hub,
        callbacks=callbacks,
    )
    queries = CitizenQueries(database, country_code=config.callbacks.country_code)
    embedded = embeds_worker(config, database)
    worker = build_worker(config, database) if embedded else None
    pusher = build_pusher(config, database) if embedded else None
    mail = build_mail_poller(config, pipeline, database, callbacks) if embedded else None
    waits = build_wait_sweeper(config, database, pipeline.outgoing) if embedded else None
    asker = (
        build_callback_worker(config, callbacks, pipeline.outgoing, name=worker_name())
        if embedded and callbacks
        else None
    )
    return Services(
        config, database, pipeline, queries, hub, metrics, taxonomy, index, answerer, router,
        worker=worker, pusher=pusher, mail=mail, callbacks=callbacks, callback_worker=asker,
        classifier=classifier, tickets=tickets, call_bridge=call_bridge(config),
        wait_sweeper=waits,
    )  # fmt: skip


def _knowledge(
    config: Config, database: Database, encoder: Encoder, analyzer: KbTextAnalyzer | None
) -> tuple[KnowledgeIndex | None, KnowledgeAnswerer | None]:
    if not config.knowledge.enabled:
        return None, None
    index = KnowledgeIndex(
        database,
        encoder,
        config.knowledge_index_dir,
        poll_seconds=config.knowledge.poll_seconds,
        analyzer=analyzer,
    )
    return index, KnowledgeAnswerer(index, database)


def _router(config: Config, taxonomy: Taxonomy) -> RouterStep:
    """The configured routing rules; every file is validated here, before serving."""
    if not config.routing.enabled:
        return NoRouter()
    return build_router(settings_from(config.routing), taxonomy=taxonomy)


def _intake_settings(config: Config) -> IntakeSettings:
    return IntakeSettings(
        timezone=config.intake.timezone,
        sequence_digits=config.intake.ticket_sequence_digits,
        max_text_chars=config.intake.max_text_chars,
        duplicate_window=timedelta(hours=config.intake.duplicate_window_hours),
        push_channels=push_channels(config),
        reply_push_channels=frozenset({"email"} if config.channels.email.enabled else ()),
        country_code=config.callbacks.country_code,
        policy=PolicySettings(
            answer_threshold=config.knowledge.answer_threshold,
            suggest_threshold=config.knowledge.suggest_threshold,
        ),
    )


async def start_services(services: Services) -> None:
    """Open the knowledge index and follow other processes' publishes and rule edits."""
    if (rules := live_rules(services.router)) is not None:
        await rules.start(services.database)
    if services.knowledge_index is not None:
        await services.knowledge_index.start()
    if services.worker is not None:
        services.worker.start()
    if services.pusher is not None:
        services.pusher.start()
    if services.callback_worker is not None:
        services.callback_worker.start()
    if services.wait_sweeper is not None:
        services.wait_sweeper.start()
    if services.mail is not None:
        services.mail.start()


async def stop_services(services: Services) -> None:
    """Stop background work, save the index, close the database (in that order)."""
    if services.mail is not None:
        await services.mail.stop()
    if services.call_bridge is not None:
        await services.call_bridge.close()
    if services.worker is not None:
        await services.worker.stop()
    if services.pusher is not None:
        await services.pusher.stop()
    if services.callback_worker is not None:
        await services.callback_worker.stop()
    if services.wait_sweeper is not None:
        await services.wait_sweeper.stop()
    if services.knowledge_index is not None:
        await services.knowledge_index.stop()
    if (rules := live_rules(services.router)) is not None:
        await rules.stop()
    await services.database.dispose()


@asynccontextmanager
async def running_services(services: Services) -> AsyncIterator[Services]:
    await start_services(services)
    try:
        yield services
    finally:
        await stop_services(services)
