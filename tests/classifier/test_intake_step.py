"""The classifier step's emergency signal: the emergency head's line, when it has one."""

from hotline.classifier.emergency_head import EmergencyCall
from hotline.classifier.intake_step import emergency_line
from hotline.classifier.model import Prediction, Suggestion

TOP = (Suggestion("0301", 0.9),)


def test_the_heads_line_is_the_models_emergency() -> None:
    assert emergency_line(Prediction(TOP, True, EmergencyCall(0.8, "119"))) == "119"


def test_a_reading_below_the_referral_probability_refers_nowhere() -> None:
    assert emergency_line(Prediction(TOP, True, EmergencyCall(0.1, None))) is None


def test_a_model_without_a_head_refers_nowhere() -> None:
    assert emergency_line(Prediction(TOP, True)) is None
