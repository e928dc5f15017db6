"""The hand-written training utterances: coverage, labels, and no copy-paste near-duplicates."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import pytest

from hotline.classifier.taxonomy import Taxonomy, load_taxonomy
from hotline.classifier.utterances import (
    DEFAULT_UTTERANCES_DIR,
    Register,
    Utterance,
    load_utterances,
)
from hotline.errors import ConfigError

MIN_PER_SUBCATEGORY = 20
# Two utterances in one subcategory sharing more than this share of character trigrams are
# the same sentence with a slot swapped; independently written requests stay far below it.
NEAR_DUPLICATE_JACCARD = 0.4


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def utterances(taxonomy: Taxonomy) -> list[Utterance]:
    return load_utterances(taxonomy=taxonomy)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _trigrams(text: str) -> set[str]:
    compact = _normalise(text)
    return {compact[i : i + 3] for i in range(max(len(compact) - 2, 1))}


def _jaccard(a: str, b: str) -> float:
    left, right = _trigrams(a), _trigrams(b)
    return len(left & right) / len(left | right)


def test_every_subcategory_has_enough_utterances(
    taxonomy: Taxonomy, utterances: list[Utterance]
) -> None:
    counts = Counter(u.subcategory for u in utterances)
    thin = {
        s.code: counts[s.code]
        for s in taxonomy.subcategories
        if counts[s.code] < MIN_PER_SUBCATEGORY
    }
    assert thin == {}


def test_every_label_is_a_subcategory_code(taxonomy: Taxonomy, utterances: list[Utterance]) -> None:
    known = {s.code for s in taxonomy.subcategories}
    assert {u.subcategory for u in utterances} <= known


def test_files_are_named_after_their_category(tmp_path: Path) -> None:
    for path in sorted(DEFAULT_UTTERANCES_DIR.glob("*.csv")):
        single = tmp_path / path.stem
        single.mkdir()
        (single / path.name).write_bytes(path.read_bytes())
        labels = {u.subcategory for u in load_utterances(single)}
        assert labels, path.name
        assert {label[:2] for label in labels} == {path.stem}, path.name


def test_no_text_appears_twice(utterances: list[Utterance]) -> None:
    counts = Counter(_normalise(u.text) for u in utterances)
    assert [text for text, n in counts.items() if n > 1] == []


def test_no_near_duplicates_within_a_subcategory(utterances: list[Utterance]) -> None:
    by_label: dict[str, list[str]] = defaultdict(list)
    for item in utterances:
        by_label[item.subcategory].append(item.text)
    pairs = [
        (label, a, b)
        for label, texts in by_label.items()
        for a, b in combinations(texts, 2)
        if _jaccard(a, b) > NEAR_DUPLICATE_JACCARD
    ]
    assert pairs == []


def test_near_duplicate_detector_catches_a_slot_swap() -> None:
    template = "你好，我想反映一下{}{}的路灯已经坏了三天了，晚上走路很不安全，麻烦尽快派人来修一下"
    original = template.format("江北区", "滨江路")
    assert _jaccard(original, template.format("江南区", "人民路")) > NEAR_DUPLICATE_JACCARD
    written = "喂，那个江北区滨江路靠近菜市场那一段，路灯一到晚上就黑乎乎的，老人都不敢出门"
    assert _jaccard(original, written) < NEAR_DUPLICATE_JACCARD


def test_every_register_is_represented(utterances: list[Utterance]) -> None:
    counts = Counter(u.register for u in utterances)
    assert set(counts) == set(Register)
    assert min(counts.values()) >= len(utterances) // 20


def test_texts_are_real_requests(utterances: list[Utterance]) -> None:
    too_short = [u.text for u in utterances if len(_normalise(u.text)) < 4]
    assert too_short == []
    letters = [u for u in utterances if u.register is Register.LETTER]
    assert sum(len(u.text) for u in letters) / len(letters) > 60


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "01.csv").write_text(body, encoding="utf-8")
    return tmp_path


def test_loader_reads_a_small_file(tmp_path: Path) -> None:
    directory = _write(tmp_path, "text,subcategory,register\n路灯不亮,0503,chat\n")
    assert load_utterances(directory) == [Utterance("路灯不亮", "0503", Register.CHAT)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("words,label,register\n路灯不亮,0503,chat\n", "header must be text,subcategory,register"),
        ("text,subcategory,register\n路灯不亮,0503,sms\n", "register 'sms' is not one of"),
        ("text,subcategory,register\n  ,0503,chat\n", "line 2: empty text"),
    ],
)
def test_loader_rejects_bad_rows(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_utterances(_write(tmp_path, body))


def test_loader_rejects_unknown_labels(tmp_path: Path, taxonomy: Taxonomy) -> None:
    directory = _write(tmp_path, "text,subcategory,register\n路灯不亮,9999,chat\n")
    with pytest.raises(ConfigError, match="unknown subcategory '9999'"):
        load_utterances(directory, taxonomy=taxonomy)


def test_loader_rejects_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no utterance files"):
        load_utterances(tmp_path)
