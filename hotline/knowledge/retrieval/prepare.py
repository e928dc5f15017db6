"""Turning documents into what the index stores: vectors and keyword terms, outside any lock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotline.encoders.base import Encoder, Vectors
from hotline.knowledge.retrieval.answers import ANSWER_CHARS
from hotline.knowledge.retrieval.documents import KnowledgeDocument
from hotline.knowledge.retrieval.text import TextAnalyzer


@dataclass(frozen=True)
class Prepared:
    """Per question: vector, word terms, bigram terms; per entry with an answer: the same."""

    vectors: Vectors
    words: list[list[str]]
    chars: list[list[str]]
    answered: list[int]  # positions in the document list of entries that have an answer
    answer_vectors: Vectors
    answer_words: list[list[str]]


def prepare(docs: list[KnowledgeDocument], analyzer: TextAnalyzer, encoder: Encoder) -> Prepared:
    """Encode and tokenise ``docs`` (the slow part of an update)."""
    texts, words, chars = [], [], []
    answered, answer_texts, answer_words = [], [], []
    for position, doc in enumerate(docs):
        keyword_terms = [t for kw in doc.keywords for t in analyzer.words(kw)]
        for question in doc.questions:
            normalised = analyzer.normalise(question)
            # The encoder sees the text as written (it was trained on natural sentences).
            texts.append(question.strip())
            words.append(analyzer.words(normalised) + keyword_terms)
            chars.append(analyzer.bigrams(normalised))
        if doc.answer.strip():
            answered.append(position)
            answer_texts.append(doc.answer.strip()[:ANSWER_CHARS])
            answer_words.append(analyzer.words(analyzer.normalise(doc.answer)))
    answer_vectors = (
        encoder.encode(answer_texts)
        if answer_texts
        else np.zeros((0, encoder.dim), dtype=np.float32)
    )
    return Prepared(encoder.encode(texts), words, chars, answered, answer_vectors, answer_words)
