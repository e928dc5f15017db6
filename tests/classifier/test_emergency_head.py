"""The classifier's emergency head: its labelled examples, its reading, and its artifact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from hotline.classifier.artifact import read_artifact
from hotline.classifier.emergency_head import (
    LINES,
    REFERRAL_PROBABILITY,
    WINDOW_CLAUSES,
    WINDOW_MAX_COUNT,
    WINDOW_MIN_CHARS,
    WINDOW_REFERRAL_PROBABILITY,
    EmergencyCall,
    EmergencyHead,
    call,
    clause_windows,
    fit_focused,
    joined,
    line_of_subcategory,
    load_emergency_examples,
    read_emergency_file,
    strongest_window,
)
from hotline.classifier.model import TextClassifier
from hotline.classifier.taxonomy import load_taxonomy
from hotline.errors import ConfigError, ModelError
from tests.nlu.emergency_cases import NEGATIVES


def test_the_packaged_examples_cover_every_line_and_hard_negatives() -> None:
    examples = load_emergency_examples()
    by_line = {line: sum(e.line == line for e in examples) for line in LINES}
    assert len(examples) >= 500
    assert all(count >= 25 for count in by_line.values()), by_line
    assert by_line["none"] >= 200
    for source in {e.source for e in examples}:
        lines = {e.line for e in examples if e.source == source}
        assert "none" in lines, source
        assert len(lines) > 1, source


def test_every_emergency_line_of_the_taxonomy_is_a_line_of_the_head() -> None:
    taxonomy = load_taxonomy()
    emergencies = {s.code for s in taxonomy.subcategories if line_of_subcategory(s.code) != "none"}
    assert emergencies == {f"260{n}" for n in range(1, 9)}
    assert {line_of_subcategory(code) for code in emergencies} == set(LINES) - {"none"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("楼道着火了,911,x", "sets.csv:2: expected '911' is not one of none, 110"),
        (" ,119,x", "sets.csv:2: empty text"),
    ],
)
def test_a_bad_example_file_names_its_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "sets.csv"
    path.write_text(f"text,expected,note\n{row}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        read_emergency_file(path)


def test_an_empty_example_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no emergency example files"):
        load_emergency_examples(tmp_path)


def test_the_referral_probability_is_reached_not_exceeded() -> None:
    at = np.array([1 - REFERRAL_PROBABILITY, 0.05, 0.1, REFERRAL_PROBABILITY - 0.15, 0.0])
    assert call(at).line == "120"
    assert call(at).probability == pytest.approx(REFERRAL_PROBABILITY)
    below = np.array([1 - REFERRAL_PROBABILITY + 0.01, 0.0, REFERRAL_PROBABILITY - 0.01, 0, 0])
    assert call(below).line is None


def test_the_line_is_the_likeliest_even_when_split() -> None:
    # No line alone is likely; together they are: refer to the likeliest one.
    assert call(np.array([0.55, 0.1, 0.2, 0.15, 0.0])).line == "119"


def test_a_head_fit_on_toy_evidence_reads_new_rows() -> None:
    # Three features: "fire words", "medical words", "enquiry words".
    lexical = sp.csr_matrix(
        np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [1, 0, 1]])
    )
    lines = ["119", "119", "120", "120", "none", "none", "none"]
    head = EmergencyHead.fit(lexical, None, lines, [1.0] * len(lines))
    rows = head.probabilities(sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])), None)
    assert [call(row).line for row in rows] == ["119", "120", None]
    assert head.probabilities(lexical, None).sum(axis=1) == pytest.approx(np.ones(len(lines)))


ALPHABET = sorted(
    set("着火了冒烟楼道厨房快来救命晕倒不醒心脏病物业费涨价太贵没人管请问怎么办理社保卡停车")
)


def char_evidence(texts: list[str]) -> tuple[sp.csr_matrix, None]:
    """Toy evidence: the share of each character of :data:`ALPHABET` in a text (a long text
    dilutes its one alarming clause, as the real evidence does)."""
    rows = [[text.count(ch) / len(text) for ch in ALPHABET] for text in texts]
    return sp.csr_matrix(np.array(rows)), None


def test_a_long_labelled_emergency_is_learnt_through_its_window() -> None:
    """A letter that buries a fire after its complaint teaches the fire, not the complaint."""
    complaint = "物业费涨价太贵，没人管，物业费涨价没人管，停车太贵，物业费太贵，停车没人管，" * 8
    letter = complaint + "楼道着火了，快来"
    texts = [
        "楼道着火了",
        "厨房冒烟着火了",
        "快来救命着火了",
        "老人晕倒不醒",
        "心脏病晕倒了快来",
        "请问社保卡怎么办理",
        "物业费涨价太贵",
        "停车没人管",
        "物业费太贵了",
        "物业费涨价没人管",
        "停车太贵没人管",
        "物业没人管",
        "停车怎么办理",
        "请问怎么办理",
        "社保卡怎么办",
        letter,
    ]
    lines = ["119", "119", "119", "120", "120", *["none"] * 10, "119"]
    labelled = [True] * len(texts)
    weights = [1.0] * len(texts)
    whole = EmergencyHead.fit(*char_evidence(texts), lines, weights)
    focused = fit_focused(char_evidence, texts, lines, weights, labelled)

    def alarm(head: EmergencyHead, text: str) -> float:
        return call(head.probabilities(*char_evidence([text]))[0]).probability

    assert alarm(focused, "物业费涨价太贵没人管") < alarm(whole, "物业费涨价太贵没人管")
    assert alarm(focused, "物业费涨价太贵没人管") < REFERRAL_PROBABILITY
    windows = focused.probabilities(*char_evidence(clause_windows(letter)))
    buried = strongest_window(windows, REFERRAL_PROBABILITY)
    assert buried is not None
    assert buried.line == "119"


def test_every_window_of_a_long_labelled_non_emergency_is_learnt_as_one() -> None:
    asked: list[str] = []

    def recording(texts: list[str]) -> tuple[sp.csr_matrix, None]:
        asked.extend(texts)
        return char_evidence(texts)

    letter = (
        "物业费涨价太贵，没人管，物业费涨价没人管，停车太贵，物业费太贵，停车没人管，请问怎么办理"
    )
    texts = ["楼道着火了", "老人晕倒不醒", "请问社保卡怎么办理", letter]
    fit_focused(recording, texts, ["119", "120", "none", "none"], [1.0] * 4, [True] * 4)
    assert set(clause_windows(letter)) <= set(asked)


def test_a_head_needs_known_lines() -> None:
    with pytest.raises(ValueError, match="unknown lines"):
        EmergencyHead.fit(sp.csr_matrix(np.eye(2)), None, ["119", "999"], [1.0, 1.0])


@pytest.fixture(scope="module")
def shipped_like(small_classifier: Path) -> TextClassifier:
    """The session's taxonomy model (words only), trained with the packaged examples."""
    return read_artifact(small_classifier, encoder=None, expected_taxonomy_version=None)


def test_a_taxonomy_model_carries_the_head_through_its_artifact(
    shipped_like: TextClassifier, small_classifier: Path
) -> None:
    manifest = json.loads((small_classifier / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["emergency"] == {"lines": list(LINES)}
    assert shipped_like.parts.emergency is not None
    (fire,) = shipped_like.predict(["救命啊 楼下仓库烧起来了 火很大 烟都冲到三楼了"])
    assert fire.emergency is not None
    assert fire.emergency.line == "119"


@pytest.mark.parametrize("text", NEGATIVES[:20])
def test_the_head_leaves_hard_negatives_alone(shipped_like: TextClassifier, text: str) -> None:
    (prediction,) = shipped_like.predict([text])
    assert prediction.emergency is not None
    assert prediction.emergency.line is None


def test_a_model_trained_on_other_labels_has_no_head() -> None:
    texts = ["停水了", "没有水", "公交晚点", "公交不来"]
    model = TextClassifier.train(texts, ["w", "w", "b", "b"], encoder=None)
    (prediction,) = model.predict(["又停水了"])
    assert model.parts.emergency is None
    assert prediction.emergency is None


def test_an_artifact_with_a_misshapen_head_is_refused(
    small_classifier: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "classifier"
    shutil.copytree(small_classifier, copy)
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["emergency"] = {"lines": ["none", "110", "119"]}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelError, match="emergency lines"):
        read_artifact(copy, encoder=None, expected_taxonomy_version=None)


def test_the_evidence_applied_apart_equals_the_joined_input() -> None:
    rng = np.random.default_rng(7)
    lexical = sp.csr_matrix(rng.random((40, 12)) * (rng.random((40, 12)) > 0.7))
    vectors = rng.standard_normal((40, 4)).astype(np.float32)
    lines = [LINES[i % len(LINES)] for i in range(40)]
    head = EmergencyHead.fit(lexical, vectors, lines, [1.0] * 40)
    joined_scores = head.head.scores(joined(lexical, vectors))
    expected = np.exp(joined_scores) / np.exp(joined_scores).sum(axis=1, keepdims=True)
    assert head.probabilities(lexical, vectors) == pytest.approx(expected, rel=1e-5)


#: a complaint about the lift that ends with a live emergency
BURIED_FIRE = (
    "我是阳光小区3栋的住户，想反映物业管理的问题。小区电梯三天两头坏，物业和维保公司互相推诿，"
    "业主群里天天有人投诉，物业费却年年涨，我们找过社区也没有结果。去年冬天暖气也不热，"
    "物业说是热力公司的事，热力公司又说是楼内管道的问题，来回踢皮球。小区的垃圾也经常好几天"
    "没人清运，夏天味道很大。写到这里，楼下车棚冒起了黑烟，火苗已经窜到二楼窗户了，"
    "楼上还有老人没下来。"
)
#: a complaint as long, about a fire years ago
PAST_FIRE = (
    "我是阳光小区3栋的住户，想反映物业管理的问题。小区电梯三天两头坏，物业和维保公司互相推诿，"
    "业主群里天天有人投诉，物业费却年年涨，我们找过社区也没有结果。另外前年车棚失过一次火，"
    "之后一直没有重建，电动车只能停在路边，希望有关部门督促物业尽快把车棚建好。"
)


def test_a_long_text_is_read_in_windows_of_clauses() -> None:
    clauses = [f"第{n}句话说了一件事，" for n in range(6)]
    text = "".join(clauses) * 2
    assert len(text) >= WINDOW_MIN_CHARS
    windows = clause_windows(text)
    assert len(windows) == 2 * len(clauses) - WINDOW_CLAUSES + 1
    assert windows[0] == "".join(clauses[:WINDOW_CLAUSES])
    assert all(window.count("，") == WINDOW_CLAUSES for window in windows)


@pytest.mark.parametrize("mark", ["。", "，", ",", "！", "？", "；", "\n"])
def test_every_clause_mark_ends_a_clause(mark: str) -> None:
    text = mark.join(["这是一个足够长的分句用来凑够字数"] * 8)
    assert len(clause_windows(text)) == 8 - WINDOW_CLAUSES + 1


def test_a_very_long_letter_is_read_in_fewer_windows_that_still_cover_every_clause() -> None:
    clauses = [f"第{n:03d}句，" for n in range(200)]
    windows = clause_windows("".join(clauses))
    assert len(windows) <= WINDOW_MAX_COUNT * 2
    assert all(any(clause in window for window in windows) for clause in clauses)
    assert windows[-1] == "".join(clauses[-WINDOW_CLAUSES:])


def test_a_short_text_or_one_of_few_clauses_has_no_windows() -> None:
    assert clause_windows("楼下着火了，火很大，快来人，在三楼。") == []
    few = "。".join(["这一句话写得很长很长很长很长很长很长很长很长很长很长"] * WINDOW_CLAUSES)
    assert len(few) >= WINDOW_MIN_CHARS
    assert clause_windows(few) == []


def test_the_most_alarming_window_refers_when_it_reaches_the_windows_probability() -> None:
    calm = [0.9, 0.025, 0.025, 0.025, 0.025]
    fire = [0.3, 0.05, 0.6, 0.03, 0.02]
    assert strongest_window(np.array([calm, fire, calm])) == EmergencyCall(
        pytest.approx(0.7), "119"
    )
    assert strongest_window(np.zeros((0, len(LINES)))) is None
    below = 1.0 - WINDOW_REFERRAL_PROBABILITY + 0.01
    assert strongest_window(np.array([[below, 0.0, 1.0 - below, 0.0, 0.0]])) is None
    assert WINDOW_REFERRAL_PROBABILITY > REFERRAL_PROBABILITY


def test_a_letter_burying_a_fire_is_referred_by_its_windows(shipped_like: TextClassifier) -> None:
    buried = shipped_like.buried_emergency(BURIED_FIRE)
    assert buried is not None
    assert buried.line == "119"
    assert buried.probability >= WINDOW_REFERRAL_PROBABILITY


def test_a_letter_about_a_past_fire_is_not(shipped_like: TextClassifier) -> None:
    assert shipped_like.buried_emergency(PAST_FIRE) is None


def test_a_short_message_is_never_read_in_windows(shipped_like: TextClassifier) -> None:
    assert shipped_like.buried_emergency("楼下着火了 火很大 快来人") is None
