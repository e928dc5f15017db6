"""The classifier's emergency head: does a message describe a live emergency, and which line.

A five-way logistic regression (none / 110 / 119 / 120 / 122) over the classifier's own
evidence, its character n-grams and the sentence vector, so it costs no second encoding. It
learns from two sources:

* the taxonomy utterances: those of the emergency subcategories (``EMERGENCY_LINES``) as their
  line, every other one as ``none``;
* labelled emergency examples (``data/emergency/*.csv``: emergencies worded as citizens say
  them, speech-recognition slips included, and hard negatives such as 消防通道被占了 or
  咨询120收费标准), which count double: they are where the lines are hard to draw.

It is the intake's second signal beside the NLU rules (:mod:`hotline.nlu.emergency`), and it
replaced the summed probability of the emergency subcategories: in leave-one-set-out runs over
the nine example sets it caught 93 % of the emergencies of the set it had not seen, with 3 %
of that set's hard negatives, where the subcategories' sum caught 66 % with 5 %
(``bench/emergency_head_loso.py``).

A long text is also read in windows of a few clauses (:func:`clause_windows`,
:func:`strongest_window`), because a letter can bury a live emergency after a paragraph about
something else; on a blind set of such letters that took the intake from 40 to 59 of 60.
Such a letter is also *learnt* through its windows (:func:`fit_focused`), not whole.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from hotline.classifier.heads import FloatArray, LinearHead
from hotline.errors import ConfigError

#: emergency subcategories of the taxonomy and the line they are handed to (两线联动)
EMERGENCY_LINES = {
    "2601": "110",
    "2602": "119",
    "2603": "120",
    "2604": "122",
    "2605": "119",
    "2606": "119",
    "2607": "110",
    "2608": "110",
}
#: the head's classes; ``none`` first
LINES = ("none", "110", "119", "120", "122")
#: refer when the head gives the emergency lines together at least this probability: recall
#: first. Chosen on the leave-one-set-out runs (nine sets, 0.2 / 0.3 / 0.4 / 0.5: 95 / 93 / 91 /
#: 89 % caught with 3.9 / 2.8 / 1.4 / 1.4 % of the hard negatives).
REFERRAL_PROBABILITY = 0.3
#: A long letter can bury a live emergency after a paragraph about something else, and the
#: head, reading the whole text, sees it diluted. A text of at least ``WINDOW_MIN_CHARS``
#: characters is also read in windows of ``WINDOW_CLAUSES`` consecutive clauses, and a window
#: refers when it reaches ``WINDOW_REFERRAL_PROBABILITY`` on its own: higher than the whole
#: text's, because a long complaint holds many windows. Chosen on a letter-rich set and the
#: 11,529 message-board posts (``bench/README.md``, emergency section).
WINDOW_MIN_CHARS = 80
WINDOW_CLAUSES = 3
WINDOW_REFERRAL_PROBABILITY = 0.6
#: a very long letter is read in at most about this many windows: they then start every
#: second or third clause (still covering every clause), so the cost stays bounded
WINDOW_MAX_COUNT = 40
#: where a clause ends: sentence marks, commas, semicolons and line breaks, full or half width
CLAUSE_END = re.compile(r"(?<=[。！？!?；;，,\n])")
#: a labelled example counts this many utterances
EXAMPLE_WEIGHT = 2.0
#: inverse regularisation of the logistic regression (1 to 30 scored alike)
PENALTY_C = 10.0
DEFAULT_EXAMPLES_DIR = Path(__file__).parent / "data" / "emergency"


@dataclass(frozen=True)
class EmergencyExample:
    """A message and the line it belongs to (``none``: not an emergency)."""

    text: str
    line: str
    source: str


@dataclass(frozen=True)
class EmergencyCall:
    """The head's reading of one message."""

    #: the emergency lines' summed probability
    probability: float
    #: the likeliest line, when ``probability`` reaches :data:`REFERRAL_PROBABILITY`
    line: str | None


def load_emergency_examples(directory: Path | None = None) -> list[EmergencyExample]:
    """Every ``*.csv`` of the directory (columns ``text, expected, note``), checked."""
    source = directory or DEFAULT_EXAMPLES_DIR
    files = sorted(source.glob("*.csv"))
    if not files:
        raise ConfigError(f"no emergency example files (*.csv) in {source}")
    return [example for path in files for example in read_emergency_file(path)]


def read_emergency_file(path: Path) -> list[EmergencyExample]:
    """One labelled file; ``ConfigError`` names the line of an empty text or unknown line."""
    examples: list[EmergencyExample] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path.name}:{number}"
            text, line = (row.get("text") or "").strip(), (row.get("expected") or "").strip()
            if not text:
                raise ConfigError(f"{where}: empty text")
            if line not in LINES:
                raise ConfigError(f"{where}: expected {line!r} is not one of {', '.join(LINES)}")
            examples.append(EmergencyExample(text, line, path.stem))
    return examples


def line_of_subcategory(code: str) -> str:
    """The line a taxonomy subcategory's utterances teach the head."""
    return EMERGENCY_LINES.get(code, "none")


def joined(lexical: sp.csr_matrix, vectors: npt.NDArray[np.floating[Any]] | None) -> sp.csr_matrix:
    """The head's input: the lexical features, then the sentence vector when there is one."""
    if vectors is None:
        return lexical
    return sp.csr_matrix(sp.hstack([lexical, sp.csr_matrix(vectors)], format="csr"))


@dataclass(frozen=True)
class EmergencyHead:
    """Probabilities over :data:`LINES` from the classifier's evidence."""

    head: LinearHead

    def probabilities(
        self, lexical: sp.csr_matrix, vectors: npt.NDArray[np.floating[Any]] | None
    ) -> FloatArray:
        """(n, 5) probabilities, columns in :data:`LINES` order."""
        # The weights of the two kinds of evidence apply apart: joining a dense vector to the
        # sparse rows would cost more than the head's arithmetic on one message.
        weights = self.head.coef.T  # (inputs, lines), the head's contiguous copy
        scores = lexical @ weights[: lexical.shape[1]] + self.head.intercept
        if vectors is not None:
            scores = scores + np.asarray(vectors) @ weights[lexical.shape[1] :]
        return np.asarray(softmax(np.asarray(scores, dtype=np.float64), axis=1))

    @classmethod
    def fit(
        cls,
        lexical: sp.csr_matrix,
        vectors: npt.NDArray[np.floating[Any]] | None,
        lines: Sequence[str],
        weights: Sequence[float],
    ) -> EmergencyHead:
        """Train on rows labelled with a line of :data:`LINES`."""
        unknown = sorted(set(lines) - set(LINES))
        if unknown:
            raise ValueError(f"unknown lines {unknown}")
        targets = np.array([LINES.index(line) for line in lines], dtype=np.int64)
        model = LogisticRegression(C=PENALTY_C, max_iter=5000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(joined(lexical, vectors), targets, sample_weight=np.asarray(weights))
        if len(model.classes_) < 2:
            raise ValueError("the emergency head needs examples of at least two lines")
        # With three lines or more, softmax over the scores is the model's predict_proba; a
        # line never seen gets a score below every other one (LinearHead.from_estimator).
        return cls(LinearHead.from_estimator(model, len(LINES)))


#: the classifier's evidence for some texts: character n-grams and sentence vectors (or None)
Evidence = Callable[[list[str]], tuple[sp.csr_matrix, npt.NDArray[np.floating[Any]] | None]]


def fit_focused(
    evidence: Evidence,
    texts: Sequence[str],
    lines: Sequence[str],
    weights: Sequence[float],
    labelled: Sequence[bool],
) -> EmergencyHead:
    """Fit the head, learning a long labelled text through its windows of clauses.

    A letter that mentions a live emergency after a paragraph of complaint, learnt whole,
    teaches the head that the complaint is an emergency: when the 60 such letters of
    ``emergency_holdout10`` were learnt whole, the intake flagged 199 of the 11,529 real
    message-board posts instead of 85; learnt through their windows, 44. So, for the labelled
    texts (not the taxonomy's):

    * a long emergency is learnt from the window a first head, fitted without the long
      emergencies, reads most as its line; and whole as well when that head already refers
      the whole text (the letter is about the emergency);
    * every window of a long non-emergency is learnt as a non-emergency beside the whole
      text, since the intake reads those windows too.
    """
    long_emergency = [
        i
        for i, text in enumerate(texts)
        if labelled[i] and lines[i] != "none" and clause_windows(text)
    ]
    keep = np.ones(len(texts), dtype=bool)
    keep[long_emergency] = False
    lexical, vectors = evidence(list(texts))
    weights_array = np.asarray(weights, dtype=np.float64)

    def fit(rows: npt.NDArray[np.bool_], extra: list[tuple[str, str, float]]) -> EmergencyHead:
        chosen = np.flatnonzero(rows)
        parts_lexical = [lexical[chosen]]
        parts_vectors = None if vectors is None else [vectors[chosen]]
        targets = [lines[int(i)] for i in chosen]
        row_weights = [float(w) for w in weights_array[chosen]]
        if extra:
            extra_lexical, extra_vectors = evidence([text for text, _, _ in extra])
            parts_lexical.append(extra_lexical)
            if parts_vectors is not None and extra_vectors is not None:
                parts_vectors.append(extra_vectors)
            targets += [line for _, line, _ in extra]
            row_weights += [weight for _, _, weight in extra]
        return EmergencyHead.fit(
            sp.csr_matrix(sp.vstack(parts_lexical, format="csr")),
            None if parts_vectors is None else np.vstack(parts_vectors),
            targets,
            row_weights,
        )

    negative_windows = [
        (window, "none", float(weights_array[i]))
        for i, text in enumerate(texts)
        if labelled[i] and lines[i] == "none"
        for window in clause_windows(text)
    ]
    if not long_emergency:
        return fit(keep, negative_windows)
    first = fit(keep, negative_windows)
    focused: list[tuple[str, str, float]] = []
    whole = first.probabilities(lexical[long_emergency], _rows(vectors, long_emergency))
    for i, reading in zip(long_emergency, whole, strict=True):
        windows = clause_windows(texts[i])
        window_lexical, window_vectors = evidence(windows)
        scores = first.probabilities(window_lexical, window_vectors)[:, LINES.index(lines[i])]
        focused.append((windows[int(np.argmax(scores))], lines[i], float(weights_array[i])))
        keep[i] = call(reading).line is not None
    return fit(keep, [*negative_windows, *focused])


def _rows(
    vectors: npt.NDArray[np.floating[Any]] | None, rows: Sequence[int]
) -> npt.NDArray[np.floating[Any]] | None:
    return None if vectors is None else vectors[list(rows)]


def call(probabilities: FloatArray) -> EmergencyCall:
    """Read one row of :meth:`EmergencyHead.probabilities`."""
    emergency = float(1.0 - probabilities[0])
    if emergency < REFERRAL_PROBABILITY:
        return EmergencyCall(emergency, None)
    return EmergencyCall(emergency, LINES[1 + int(np.argmax(probabilities[1:]))])


def clause_windows(text: str) -> list[str]:
    """The windows a long text is also read in: each run of :data:`WINDOW_CLAUSES` clauses.

    None for a text shorter than :data:`WINDOW_MIN_CHARS` or of too few clauses, which the
    whole-text reading covers.
    """
    if len(text) < WINDOW_MIN_CHARS:
        return []
    clauses = [clause for clause in CLAUSE_END.split(text) if clause.strip()]
    if len(clauses) <= WINDOW_CLAUSES:
        return []
    starts = len(clauses) - WINDOW_CLAUSES + 1
    stride = min(WINDOW_CLAUSES, -(-starts // WINDOW_MAX_COUNT))
    last = starts - 1
    return [
        "".join(clauses[start : start + WINDOW_CLAUSES])
        for start in sorted({*range(0, starts, stride), last})
    ]


def strongest_window(
    probabilities: FloatArray, threshold: float = WINDOW_REFERRAL_PROBABILITY
) -> EmergencyCall | None:
    """The windows' reading (rows of :meth:`EmergencyHead.probabilities`): the line of the most
    alarming window, when it reaches ``threshold``."""
    if len(probabilities) == 0:
        return None
    emergency = 1.0 - probabilities[:, 0]
    best = int(np.argmax(emergency))
    if emergency[best] < threshold:
        return None
    row = probabilities[best]
    return EmergencyCall(float(emergency[best]), LINES[1 + int(np.argmax(row[1:]))])
