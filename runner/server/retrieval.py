"""Chunking and ranking for vector store files: no HTTP, no SQL, so that file_search can use it too.

Token: a maximal run of word characters (`\\w+`, Unicode-aware) or one single other non-space character.
That is deterministic, needs no model files, and counts roughly as many tokens as a BPE tokenizer does on
English prose. Chunks are runs of `max_chunk_size_tokens` tokens that overlap by `chunk_overlap_tokens`;
the chunk text is the source text from its first token to its last, so whitespace and lines survive.

Ranking: Okapi BM25 (k1 = 1.2, b = 0.75) over the chunks being searched, using the casefolded word tokens.
The score is BM25 divided by the best score any chunk could get for the query (every query term that occurs
in the searched chunks, each with the highest term-frequency weight), which puts it in [0, 1] as the API
promises; query words found nowhere do not lower it. Chunks with no query term are
not results. Ties are broken by vector store id, file id and chunk position, so results are stable.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400
K1 = 1.2
B = 0.75

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Indexed:
    vector_store_id: str
    file_id: str
    idx: int
    text: str
    terms: list[str]


@dataclass(frozen=True)
class Hit:
    vector_store_id: str
    file_id: str
    idx: int
    score: float
    text: str


def count_tokens(text: str) -> int:
    return sum(1 for _ in _TOKEN.finditer(text))


def terms(text: str) -> list[str]:
    return [m.group(0).casefold() for m in _WORD.finditer(text)]


def chunk(text: str, max_tokens: int = AUTO_MAX_TOKENS, overlap: int = AUTO_OVERLAP_TOKENS) -> list[str]:
    spans = [m.span() for m in _TOKEN.finditer(text)]
    if not spans:
        return []
    step = max_tokens - overlap
    out = []
    for start in range(0, len(spans), step):
        window = spans[start : start + max_tokens]
        out.append(text[window[0][0] : window[-1][1]])
        if start + max_tokens >= len(spans):
            break
    return out


def rank(
    chunks: Iterable[Indexed], queries: list[str], max_results: int, score_threshold: float = 0.0
) -> list[Hit]:
    pool = list(chunks)
    query_terms = sorted({t for q in queries for t in terms(q)})
    if not pool or not query_terms:
        return []
    df: Counter[str] = Counter()
    for c in pool:
        df.update(set(c.terms) & set(query_terms))
    n = len(pool)
    avg_len = sum(len(c.terms) for c in pool) / n or 1.0
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in query_terms}
    best = sum(v for t, v in idf.items() if df[t]) * (K1 + 1)
    if best == 0:
        return []
    hits = []
    for c in pool:
        tf = Counter(t for t in c.terms if t in idf)
        if not tf:
            continue
        norm = K1 * (1 - B + B * len(c.terms) / avg_len)
        raw = sum(idf[t] * f * (K1 + 1) / (f + norm) for t, f in tf.items())
        score = round(min(raw / best, 1.0), 6)
        if score >= score_threshold and score > 0:
            hits.append(Hit(c.vector_store_id, c.file_id, c.idx, score, c.text))
    hits.sort(key=lambda h: (-h.score, h.vector_store_id, h.file_id, h.idx))
    return hits[:max_results]
