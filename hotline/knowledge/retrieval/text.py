"""Text normalisation and the two keyword analyzers (jieba words, character bigrams).

Questions and queries go through the same :class:`TextAnalyzer`, so a colloquial query and a
formal standard question meet in the middle: traditional characters become simplified,
full-width ASCII half-width, spoken function words (咋 → 怎么, 啥 → 什么) their written form, and
politeness fillers (请问, 我想问一下, 你好) disappear. The map is deliberately small and
domain-general; entry-specific synonyms belong in an entry's similar questions or keywords.
Government-service vocabulary (社保 → 社会保险, 过户 → 转移登记) is the job of the larger
colloquial lexicon (:mod:`hotline.knowledge.retrieval.lexicon`), applied to queries only.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import jieba
import opencc

from hotline.knowledge.retrieval.lexicon import Lexicon

# Longest first, so 咋办 is rewritten before 咋.
_COLLOQUIAL = sorted(
    {
        "咋整": "怎么办",
        "咋办": "怎么办",
        "咋弄": "怎么办",
        "怎么弄": "怎么办",
        "怎么搞": "怎么办",
        "咋": "怎么",
        "如何": "怎么",
        "怎样": "怎么",
        "啥时候": "什么时候",
        "何时": "什么时候",
        "啥": "什么",
        "哪儿": "哪里",
        "哪个部门": "哪里",
        "能不能": "可以",
        "可不可以": "可以",
        "能否": "可以",
        "是否可以": "可以",
        "驾照": "驾驶证",
        "车牌": "号牌",
        "房本": "房产证",
        "孩子": "子女",
        "小孩": "子女",
        "老人": "老年人",
    }.items(),
    key=lambda kv: -len(kv[0]),
)
_COLLOQUIAL_RE = re.compile("|".join(re.escape(k) for k, _ in _COLLOQUIAL))
_COLLOQUIAL_MAP = dict(_COLLOQUIAL)

_FILLERS = re.compile(
    r"请问一下|请问|我想问一下|我想问问|我想咨询一下|我想咨询|想咨询一下|咨询一下|麻烦问一下|"
    r"问一下|你好|您好|喂|谢谢|麻烦你|麻烦您|那个|就是说|的话|[嗯呃啊呀呢嘛哦]"
)
_NON_WORD = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")
# Words that carry no topical evidence; they would otherwise dominate BM25 on short queries.
_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "吗",
        "么",
        "是",
        "我",
        "你",
        "他",
        "她",
        "它",
        "们",
        "我们",
        "这",
        "那",
        "这个",
        "有",
        "在",
        "和",
        "与",
        "或",
        "及",
        "都",
        "也",
        "就",
        "要",
        "会",
        "可以",
        "怎么",
        "什么",
        "怎么办",
        "哪些",
        "哪里",
        "多少",
        "为什么",
        "一下",
        "现在",
        "还",
        "又",
        "被",
        "把",
        "给",
        "让",
        "得",
        "地",
        "着",
        "过",
        "之",
        "其",
        "该",
        "应该",
        "应当",
        "需要",
        "请",
        "想",
        "能",
        "吧",
        "呢",
        "啊",
        "呀",
        "对",
        "于",
        "为",
        "从",
        "到",
        "以",
        "及其",
        "还是",
        "或者",
        "如果",
        "一个",
        "一般",
        "时候",
        "办理",
        "怎么样",
        "有没有",
        "没有",
        "不",
        "没",
    ]
)


class TextAnalyzer:
    """Normalises text and turns it into keyword terms; owns its own jieba tokenizer."""

    def __init__(self, extra_words: Path | None = None, lexicon: Lexicon | None = None) -> None:
        self._tokenizer = jieba.Tokenizer()
        # jieba loads its dictionary lazily (~0.7 s); do it now so no search pays for it.
        self._tokenizer.initialize()
        if extra_words is not None:
            # The tokenizer reads the file lazily; loading it here keeps failures at start-up.
            self._tokenizer.load_userdict(str(extra_words))
        self._t2s = opencc.OpenCC("t2s")
        self.lexicon = lexicon if lexicon is not None else Lexicon.packaged(self.normalise)

    def normalise(self, text: str) -> str:
        """Canonical written form used by every analyzer (and by the dense encoder)."""
        text = unicodedata.normalize("NFKC", text).lower()
        text = self._t2s.convert(text)
        text = _FILLERS.sub(" ", text)
        text = _COLLOQUIAL_RE.sub(lambda m: _COLLOQUIAL_MAP[m.group(0)], text)
        return " ".join(text.split())

    def keyword_text(self, normalised: str) -> str:
        """A query for the keyword analyzers: plus the official terms of its colloquial words."""
        return self.lexicon.expand(normalised)

    def written_form(self, normalised: str) -> str:
        """A query in written style (colloquial words replaced), as a second dense reading."""
        return self.lexicon.rewrite(normalised)

    def words(self, normalised: str) -> list[str]:
        """jieba search-mode words (sub-words included), without stopwords and punctuation."""
        out = []
        for raw in self._tokenizer.lcut_for_search(normalised):
            token = raw.strip()
            if token and token not in _STOPWORDS and not _NON_WORD.fullmatch(token):
                out.append(token)
        return out

    @staticmethod
    def bigrams(normalised: str) -> list[str]:
        """Overlapping character bigrams inside each run of letters, digits or Han characters."""
        out = []
        for run in _NON_WORD.split(normalised):
            if len(run) == 1:
                out.append(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        return out
