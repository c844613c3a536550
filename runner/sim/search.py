"""The file_search rules: the query the model sends, and the sentence it quotes from what came back.

Sentences of all hits are candidates. A word's weight is ln(1 + candidates / candidates-with-the-word), so
rare words count more. When the question has a context clause that is not its opening ("... when the
clockwork jammed?"), the sentence matching that clause best locates the event, and the answer is the best
match for the rest of the question among the three sentences that follow it (the earliest on a tie).
Otherwise every sentence scores the weights of the question's words it contains times its hit's score,
and the best wins (the earliest on a tie)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from runner.sim.text import STOPWORDS, content_terms, split_sentences, stem, words
from runner.sim.types import SearchHit

_CONTEXT_CLAUSE = re.compile(
    r"\b(?:when|while|after|before|if|once|because|since|during|until)\b[^.?!,;]*", re.IGNORECASE
)
# A question about a name is answered by a sentence that names something.
_SYNONYMS = {"name": ("call", "named", "name")}
FOLLOWING = 3  # how many sentences after the context's sentence may hold the answer


def search_query(text: str) -> str:
    """The user's words minus stopwords and possessives, in order, each once: what the retriever gets."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w.lower() not in STOPWORDS:
            seen.setdefault(w, None)
    return " ".join(seen) or " ".join(text.split())


def _focus_and_context(question: str) -> tuple[list[str], list[str]]:
    context_text = " ".join(
        m.group(0) for m in _CONTEXT_CLAUSE.finditer(question) if question[: m.start()].strip()
    )
    context = content_terms(context_text)
    focus = [t for t in content_terms(question) if t not in context]
    for term in list(focus):
        focus.extend(stem(s) for s in _SYNONYMS.get(term, ()))
    return focus, context


@dataclass(frozen=True)
class Quote:
    hit: SearchHit
    result_index: int
    sentence: str


def best_quote(question: str, hits: tuple[SearchHit, ...]) -> Quote | None:
    """The sentence, among the hits, that answers the question; None when there are no hits."""
    candidates = [
        (h, i, sentence)
        for h, hit in enumerate(hits)
        for i, sentence in enumerate(split_sentences(hit.text) or [" ".join(hit.text.split())])
    ]
    if not candidates:
        return None
    terms = [set(map(stem, words(s))) for _, _, s in candidates]
    df = Counter(t for ts in terms for t in ts)
    n = len(candidates)

    def score(wanted: list[str], k: int) -> float:
        return sum(math.log(1 + n / df[t]) for t in set(wanted) if t in terms[k])

    focus, context = _focus_and_context(question)
    pool: list[int] = list(range(n))
    anchor = max(pool, key=lambda k: (score(context, k), -k)) if context else None
    if anchor is not None and score(context, anchor):
        # The context clause locates the event; the answer is in the sentences that follow it.
        h = candidates[anchor][0]
        pool = [k for k in range(anchor + 1, min(anchor + 1 + FOLLOWING, n)) if candidates[k][0] == h]
        pool = pool or [anchor]
        best = max(pool, key=lambda k: (score(focus, k), -k))
    else:
        weighted = {k: score(focus + context, k) * max(hits[candidates[k][0]].score, 1e-6) for k in pool}
        best = max(pool, key=lambda k: (round(weighted[k], 9), -k))
    h, _, sentence = candidates[best]
    return Quote(hits[h], h, sentence)


def marker(step_index: int, result_index: int, filename: str) -> str:
    """The real API's citation marker, as in `【4:0†favorite_foods.txt】`."""
    return f"【{step_index}:{result_index}†{filename}】"
