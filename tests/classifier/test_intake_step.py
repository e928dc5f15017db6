"""The classifier step's emergency signal: the emergency head's line, when it has one."""

from pathlib import Path

from hotline.classifier.artifact import read_artifact
from hotline.classifier.emergency_head import EmergencyCall
from hotline.classifier.intake_step import TaxonomyClassifierStep, emergency_line
from hotline.classifier.model import Prediction, Suggestion
from hotline.classifier.taxonomy import load_taxonomy
from tests.classifier.test_emergency_head import BURIED_FIRE, PAST_FIRE

TOP = (Suggestion("0301", 0.9),)


def test_the_heads_line_is_the_models_emergency() -> None:
    assert emergency_line(Prediction(TOP, True, EmergencyCall(0.8, "119"))) == "119"


def test_a_reading_below_the_referral_probability_refers_nowhere() -> None:
    assert emergency_line(Prediction(TOP, True, EmergencyCall(0.1, None))) is None


def test_a_model_without_a_head_refers_nowhere() -> None:
    assert emergency_line(Prediction(TOP, True)) is None


async def test_the_step_reads_a_long_letter_again_in_windows(small_classifier: Path) -> None:
    model = read_artifact(small_classifier, encoder=None, expected_taxonomy_version=None)
    step = TaxonomyClassifierStep(model, load_taxonomy())
    (whole,) = model.predict([BURIED_FIRE])
    assert emergency_line(whole) is None  # diluted by the paragraph about the lift
    assert (await step.classify(BURIED_FIRE)).emergency == "119"
    assert (await step.classify(PAST_FIRE)).emergency is None
