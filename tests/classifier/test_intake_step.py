"""The classifier step's emergency signal: the emergency subcategories' summed probability."""

import pytest

from hotline.classifier.intake_step import EMERGENCY_MASS, emergency_line
from hotline.classifier.model import Prediction, Suggestion


def prediction(*pairs: tuple[str, float]) -> Prediction:
    return Prediction(tuple(Suggestion(label, score) for label, score in pairs), confident=False)


@pytest.mark.parametrize(
    ("pairs", "line"),
    [
        # Neither emergency alone is likely, together they are: refer to the likelier one's line.
        ((("0301", 0.6), ("2602", 0.2), ("2601", 0.15), ("0502", 0.05)), "119"),
        ((("2603", 0.9), ("0301", 0.1)), "120"),
        ((("0301", 0.75), ("2604", 0.1), ("2607", 0.1), ("0502", 0.05)), None),
        ((("0301", 1.0),), None),
    ],
)
def test_the_summed_emergency_probability_refers(
    pairs: tuple[tuple[str, float], ...], line: str | None
) -> None:
    assert emergency_line(prediction(*pairs)) == line


def test_the_threshold_is_reached_not_exceeded() -> None:
    at = prediction(("0301", 1 - EMERGENCY_MASS), ("2608", EMERGENCY_MASS))
    assert emergency_line(at) == "110"
