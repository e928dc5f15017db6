"""Self-generated queries for fitting the calibration without labelled data.

Each sampled entry's standard question is distorted the way callers distort questions: words
dropped, word order shuffled, a spoken filler added, characters lost to speech recognition.
The distorted query is searched twice: with its entry present (is the top hit right?) and
with its entry hidden (the top hit is wrong by construction, as for a question the knowledge
base cannot answer). Both outcomes feed :meth:`Calibration.fit`.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING

from hotline.knowledge.retrieval.calibration import Calibration

if TYPE_CHECKING:
    from hotline.knowledge.retrieval.index import HybridIndex

logger = logging.getLogger(__name__)

MIN_ENTRIES = 30
_PREFIXES = ("", "", "请问", "我想问一下", "你好 我想咨询", "那个")
_SUFFIXES = ("", "", "怎么办", "啊", "是吧", "这个怎么弄")


def distort(question: str, words: list[str], rng: random.Random) -> str:
    """A colloquial-looking variant of ``question`` (``words``: its jieba words)."""
    kept = [w for w in words if rng.random() > 0.35] or words[:1]
    if rng.random() < 0.3:
        rng.shuffle(kept)
    text = "".join(kept)
    if rng.random() < 0.3 and len(text) > 4:
        drop = rng.randrange(len(text))
        text = text[:drop] + text[drop + 1 :]
    return f"{rng.choice(_PREFIXES)}{text}{rng.choice(_SUFFIXES)}" or question


def fit_calibration(index: HybridIndex, *, samples: int = 300, seed: int = 13) -> Calibration:
    """Fit the index's calibration; small knowledge bases keep the default coefficients."""
    entry_ids = sorted(index.state.docs)
    if len(entry_ids) < MIN_ENTRIES:
        logger.info("kb.calibration.default entries=%d minimum=%d", len(entry_ids), MIN_ENTRIES)
        return Calibration()
    rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
    features: list[tuple[float, float]] = []
    labels: list[bool] = []
    for entry_id in rng.sample(entry_ids, min(samples, len(entry_ids))):
        question = index.state.docs[entry_id].questions[0]
        words = index.analyzer.words(index.analyzer.normalise(question))
        query = distort(question, words, rng)
        for exclude in (None, entry_id):
            ranked = index.rank(query, exclude=exclude)
            if not ranked:
                continue
            runner_up = ranked[1].fused if len(ranked) > 1 else 0.0
            features.append((ranked[0].fused, ranked[0].fused - runner_up))
            labels.append(ranked[0].entry_id == entry_id)
    calibration = Calibration.fit(features, labels)
    logger.info(
        "kb.calibration.fitted samples=%d positives=%d weights=%s",
        len(labels),
        sum(labels),
        # rounded: long digit runs would be masked as card numbers in the logs
        {name: round(value, 3) for name, value in calibration.to_dict().items()},
    )
    return calibration
