"""The trained classifier as the intake's classification step, with the taxonomy's roll-up."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from hotline.classifier.artifact import read_manifest
from hotline.classifier.emergency_head import EmergencyCall
from hotline.classifier.model import Prediction, TextClassifier
from hotline.classifier.taxonomy import Taxonomy
from hotline.encoders.base import Encoder
from hotline.errors import ModelError
from hotline.intake.steps import ClassificationResult, ClassifierStep, NoClassifier, Suggestion

log = logging.getLogger(__name__)


class TaxonomyClassifierStep:
    """Suggests subcategories (with their categories) for a citizen's request."""

    def __init__(self, model: TextClassifier, taxonomy: Taxonomy, *, top_k: int = 5) -> None:
        self._model = model
        self._taxonomy = taxonomy
        self._top_k = top_k
        self.version = f"{model.info.created_at}#{model.info.data_hash[:8]}"

    @property
    def model(self) -> TextClassifier:
        """The loaded classifier."""
        return self._model

    async def classify(self, text: str) -> ClassificationResult:
        prediction, buried = await asyncio.to_thread(self._read, text)
        suggestions = tuple(
            Suggestion(
                category_code=self._taxonomy.subcategory(s.label).category_code,
                subcategory_code=s.label,
                score=s.score,
            )
            for s in prediction.suggestions[: self._top_k]
        )
        top = prediction.top
        return ClassificationResult(
            suggestions=suggestions,
            confident=prediction.confident,
            model_version=self.version,
            needs_place=self._taxonomy.subcategory(top.label).needs_place,
            emergency=emergency_line(prediction) or (buried.line if buried else None),
        )

    def _read(self, text: str) -> tuple[Prediction, EmergencyCall | None]:
        """Every label ranked, and a long text read again in windows when the whole-text
        reading refers nowhere (:meth:`TextClassifier.buried_emergency`)."""
        (prediction,) = self._model.predict([text], top_k=len(self._model.labels))
        if emergency_line(prediction) is not None:
            return prediction, None
        return prediction, self._model.buried_emergency(text)


def emergency_line(prediction: Prediction) -> str | None:
    """The line the model refers to (its emergency head; see ``emergency_head``), or None."""
    return None if prediction.emergency is None else prediction.emergency.line


def load_classifier_step(
    path: Path, *, taxonomy: Taxonomy, encoder: Encoder | None, required: bool, top_k: int = 5
) -> ClassifierStep:
    """Load the trained artifact; refuse (``ModelError``) rather than run untrained."""
    if not path.exists() and not required:
        log.warning("classifier.disabled: no model at %s; tickets go unclassified to triage", path)
        return NoClassifier()
    try:
        # A model trained on words alone (``--encoder none``) is loaded without the encoder.
        if read_manifest(path).get("encoder") is None:
            encoder = None
        model = TextClassifier.load(
            path, encoder=encoder, expected_taxonomy_version=taxonomy.version
        )
    except ModelError as e:
        raise ModelError(
            f"classifier.model_path: {e.message}; train one with 'hotline classifier train'"
        ) from e
    log.info("classifier.loaded", extra={"path": str(path), "labels": len(model.labels)})
    return TaxonomyClassifierStep(model, taxonomy, top_k=top_k)
