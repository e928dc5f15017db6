"""Assembling the service from configuration: database, NLU, steps and the intake pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.classifier.taxonomy import Taxonomy, load_taxonomy
from hotline.config import Config
from hotline.errors import NotFound, ValidationFailed
from hotline.intake.hub import ReplyHub
from hotline.intake.pipeline import IntakePipeline, IntakeSettings, TextAnalyzer
from hotline.intake.queries import CitizenQueries
from hotline.intake.steps import (
    ClassifierStep,
    KnowledgeStep,
    NoClassifier,
    NoKnowledge,
    NoRouter,
    RouterStep,
)
from hotline.intake.tickets import TicketFactory
from hotline.observability import Metrics
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


def default_analyzer() -> TextAnalyzer:
    from hotline.nlu.analyzer import Analyzer

    analyzer = Analyzer()
    analyzer.warm_up()
    return analyzer


def build_services(
    config: Config,
    *,
    analyzer: TextAnalyzer | None = None,
    classifier: ClassifierStep | None = None,
    knowledge: KnowledgeStep | None = None,
    router: RouterStep | None = None,
) -> Services:
    """Everything the web app and the CLI share; created once in ``main()`` or a test."""
    database = Database(
        config.database_url, pool_size=config.database.pool_size, echo=config.database.echo
    )
    metrics, hub = Metrics(), ReplyHub()
    classifier = classifier or NoClassifier()
    tickets = TicketFactory(
        classifier=classifier,
        router=router or NoRouter(),
        timezone=config.intake.timezone,
        sequence_digits=config.intake.ticket_sequence_digits,
    )
    pipeline = IntakePipeline(
        database=database,
        analyzer=analyzer or default_analyzer(),
        tickets=tickets,
        classifier=classifier,
        knowledge=knowledge or NoKnowledge(),
        settings=IntakeSettings(
            timezone=config.intake.timezone,
            sequence_digits=config.intake.ticket_sequence_digits,
            max_text_chars=config.intake.max_text_chars,
        ),
        metrics=metrics,
        hub=hub,
    )
    taxonomy = load_taxonomy()
    return Services(config, database, pipeline, CitizenQueries(database), hub, metrics, taxonomy)
