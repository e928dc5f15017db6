"""The colloquial → official lexicon: its file format, expansion, rewriting, and its effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.encoders.base import Encoder
from hotline.errors import ConfigError
from hotline.knowledge.retrieval.documents import KnowledgeDocument
from hotline.knowledge.retrieval.index import HybridIndex
from hotline.knowledge.retrieval.lexicon import Lexicon, parse_lexicon
from hotline.knowledge.retrieval.text import TextAnalyzer


def test_packaged_lexicon_loads_with_keys_in_normalised_form(kb_analyzer: TextAnalyzer) -> None:
    lexicon = kb_analyzer.lexicon
    assert len(lexicon.entries) > 150
    assert lexicon.entries["社保"] == ("社会保险",)
    # 为啥 is written 为什么 once normalised (啥 → 什么), so the key must be stored that way.
    assert "为什么" in lexicon.entries
    assert "为啥" not in lexicon.entries


def test_expand_adds_official_terms_and_keeps_the_spoken_word() -> None:
    lexicon = Lexicon.from_text("社保\t社会保险\n北京户口\t本市户籍 京籍\n户口\t户籍\n")
    assert lexicon.expand("社保断了") == "社保断了 社会保险"
    # Longest key first: 北京户口 wins over the 户口 inside it.
    assert lexicon.expansions("北京户口能迁吗") == ["本市户籍", "京籍"]
    # A term the text already holds is not added again.
    assert lexicon.expansions("社会保险 社保") == []
    assert lexicon.expand("没有口语词") == "没有口语词"


def test_rewrite_replaces_spoken_words_by_the_first_official_term() -> None:
    lexicon = Lexicon.from_text("爸妈\t父母\n过户\t转移登记 变更\n")
    assert lexicon.rewrite("爸妈的车过户给我") == "父母的车转移登记给我"
    assert Lexicon({}).rewrite("爸妈") == "爸妈"


def test_overlapping_keys_are_all_expanded() -> None:
    lexicon = Lexicon.from_text("补交\t补缴\n交社保\t缴纳 社会保险\n社保\t社会保险\n")
    # 补交 and 交社保 overlap: both count; 社保 inside 交社保 adds nothing of its own.
    assert lexicon.expansions("补交社保") == ["补缴", "缴纳", "社会保险"]
    assert lexicon.rewrite("补交社保") == "补缴社会保险"


def test_rewrite_leaves_an_official_term_that_holds_a_key_alone() -> None:
    lexicon = Lexicon.from_text("公积金\t住房公积金\n结婚\t婚姻登记 结婚登记\n")
    assert lexicon.rewrite("住房公积金怎么提") == "住房公积金怎么提"  # not 住房住房公积金
    assert lexicon.rewrite("公积金怎么提") == "住房公积金怎么提"
    assert lexicon.rewrite("结婚登记网上预约") == "结婚登记网上预约"
    # The keyword side still adds the key's other official terms.
    assert lexicon.expansions("结婚登记网上预约") == ["婚姻登记"]


def test_a_word_listed_with_itself_is_left_alone() -> None:
    # 独生子女 holds 生子女 (生孩子 once normalised) but is not about giving birth.
    lexicon = Lexicon.from_text("生子女\t生育\n独生子女\t独生子女\n")
    assert lexicon.rewrite("生子女有补贴吗") == "生育有补贴吗"
    assert lexicon.rewrite("独生子女证丢了") == "独生子女证丢了"
    assert lexicon.expansions("独生子女证丢了") == []


def test_packaged_lexicon_keeps_host_words_intact(kb_analyzer: TextAnalyzer) -> None:
    def written(text: str) -> str:
        return kb_analyzer.written_form(kb_analyzer.normalise(text))

    assert written("独生子女家庭有奖励吗") == "独生子女家庭有奖励吗"  # was 独生育家庭
    assert "本市户籍" not in kb_analyzer.keyword_text(kb_analyzer.normalise("非京籍怎么买车"))
    assert "票价" not in kb_analyzer.keyword_text(kb_analyzer.normalise("停车费怎么交"))
    assert written("我老公的社保断缴了") == "我配偶的社会保险中断缴费了"


def test_duplicate_keys_merge_their_terms() -> None:
    entries = parse_lexicon("老公\t配偶\n老公\t夫妻 配偶\n")
    assert entries == {"老公": ("配偶", "夫妻")}


@pytest.mark.parametrize("line", ["社保", "社保\t", "\t社会保险"])
def test_malformed_line_is_a_config_error_naming_the_line(line: str) -> None:
    with pytest.raises(ConfigError, match="line 2: expected 'colloquial<TAB>official terms'"):
        parse_lexicon(f"# comment\n{line}\n")


def test_site_lexicon_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("# ours\n打的\t出租汽车\n", encoding="utf-8")
    assert Lexicon.from_file(path).expand("打的多少钱") == "打的多少钱 出租汽车"
    with pytest.raises(ConfigError, match="cannot read the colloquial lexicon"):
        Lexicon.from_file(tmp_path / "missing.txt")


def test_analyzer_expands_the_keyword_side_of_queries(kb_analyzer: TextAnalyzer) -> None:
    normalised = kb_analyzer.normalise("我想问一下 公积金咋提")
    words = kb_analyzer.words(kb_analyzer.keyword_text(normalised))
    assert "住房" in words  # from the added 住房公积金
    assert "公积金" in words
    assert "住房" not in kb_analyzer.words(normalised)
    assert kb_analyzer.written_form(normalised).startswith("住房公积金")


SPOUSE_KB = [
    KnowledgeDocument(1, ("夫妻间产权转移登记需要提交哪些材料？",)),
    KnowledgeDocument(2, ("办理房屋租赁登记备案需要哪些材料？",)),
    KnowledgeDocument(3, ("新建商品房买卖合同网签需要哪些材料？",)),
    KnowledgeDocument(4, ("出租汽车的收费标准是什么？",)),
    KnowledgeDocument(5, ("公共汽车票价是多少？",)),
]


def test_lexicon_changes_the_ranking(encoder: Encoder) -> None:
    with_lexicon = HybridIndex.build(SPOUSE_KB, encoder=encoder, analyzer=TextAnalyzer())
    without = HybridIndex.build(
        SPOUSE_KB, encoder=encoder, analyzer=TextAnalyzer(lexicon=Lexicon({}))
    )
    query = "打的怎么收钱"
    on, off = with_lexicon.rank(query), without.rank(query)
    assert on[0].entry_id == 4
    # The expansion (出租汽车, 收费) is what lifts the keyword score of the right entry.
    assert on[0].sparse > next(c.sparse for c in off if c.entry_id == 4)
