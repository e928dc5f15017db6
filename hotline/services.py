"""Assembling the service from configuration: database, NLU, encoder, steps and the pipeline.

``build_services`` only constructs; ``start_services`` loads what takes time or I/O (the
classifier artifact is loaded at build time so a missing one stops start-up at once; the
knowledge index is opened and followed at start) and ``stop_services`` undoes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from hotline.classifier.intake_step import load_classifier_step
from hotline.classifier.taxonomy import Taxonomy, load_taxonomy
from hotline.config import Config
from hotline.encoders.base import Encoder
from hotline.encoders.factory import load_encoder
from hotline.errors import NotFound, ValidationFailed
from hotline.intake.hub import ReplyHub
from hotline.intake.pipeline import IntakePipeline, IntakeSettings, TextAnalyzer
from hotline.intake.policy import PolicySettings
from hotline.intake.queries import CitizenQueries
from hotline.intake.steps import ClassifierStep, NoKnowledge, NoRouter, RouterStep
from hotline.intake.tickets import TicketFactory
from hotline.knowledge.answering import KnowledgeAnswerer
from hotline.knowledge.retrieval.text import TextAnalyzer as KbTextAnalyzer
from hotline.knowledge.sync import KnowledgeIndex
from hotline.observability import Metrics
from hotline.routing.router import RoutingSettings, build_router
from hotline.storage.db import Database


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
    pipeline = IntakePipeline(
        database=database,
        analyzer=analyzer or default_analyzer(),
        tickets=TicketFactory(
            classifier=classifier,
            router=router,
            timezone=config.intake.timezone,
            sequence_digits=config.intake.ticket_sequence_digits,
        ),
        classifier=classifier,
        knowledge=answerer or NoKnowledge(),
        settings=_intake_settings(config),
        metrics=metrics,
        hub=hub,
    )
    queries = CitizenQueries(database)
    return Services(
        config, database, pipeline, queries, hub, metrics, taxonomy, index, answerer, router
    )


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
    routing = config.routing

    def path(value: str) -> Path | None:
        return Path(value) if value else None

    settings = RoutingSettings(
        rules_path=path(routing.rules),
        units_path=path(routing.units),
        calendar_overrides_path=path(routing.calendar_overrides),
        areas_geojson_path=path(routing.areas_geojson),
    )
    return build_router(settings, taxonomy=taxonomy)


def _intake_settings(config: Config) -> IntakeSettings:
    return IntakeSettings(
        timezone=config.intake.timezone,
        sequence_digits=config.intake.ticket_sequence_digits,
        max_text_chars=config.intake.max_text_chars,
        policy=PolicySettings(
            answer_threshold=config.knowledge.answer_threshold,
            suggest_threshold=config.knowledge.suggest_threshold,
        ),
    )


async def start_services(services: Services) -> None:
    """Open the knowledge index and follow other processes' publishes."""
    if services.knowledge_index is not None:
        await services.knowledge_index.start()


async def stop_services(services: Services) -> None:
    """Stop background work, save the index, close the database (in that order)."""
    if services.knowledge_index is not None:
        await services.knowledge_index.stop()
    await services.database.dispose()


@asynccontextmanager
async def running_services(services: Services) -> AsyncIterator[Services]:
    await start_services(services)
    try:
        yield services
    finally:
        await stop_services(services)
