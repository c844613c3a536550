"""A small in-memory `Retriever` over whole files: for tests, examples, and anyone driving the simulator
without the server's vector-store index.

Each file is one chunk. Score = sum over the query's terms found in the file of idf * tf / (tf + 1),
divided by the same sum with tf -> infinity over the terms found anywhere, so scores lie in (0, 1). Files
without a query term are not hits. Ties go to the file name, so results are stable."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.sim.text import stem, words
from runner.sim.types import SearchHit


@dataclass(frozen=True)
class _Doc:
    file_id: str
    filename: str
    text: str
    terms: Counter[str] = field(compare=False)


class MemoryRetriever:
    def __init__(self, documents: Iterable[tuple[str, str, str]]) -> None:
        """`documents`: (file_id, filename, text) triples."""
        self.docs = [
            _Doc(fid, name, text, Counter(stem(w) for w in words(text))) for fid, name, text in documents
        ]

    @classmethod
    def from_paths(cls, paths: Iterable[Path], id_prefix: str = "file-") -> MemoryRetriever:
        """Files named by their path; the file id is the prefix plus the file's stem."""
        return cls((f"{id_prefix}{p.stem}", p.name, p.read_text(encoding="utf-8")) for p in sorted(paths))

    def search(self, query: str, max_results: int) -> Sequence[SearchHit]:
        wanted = sorted({stem(w) for w in words(query)})
        df = {t: sum(1 for d in self.docs if t in d.terms) for t in wanted}
        n = len(self.docs)
        idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in wanted if df[t]}
        best = sum(idf.values())
        if not best:
            return []
        hits = []
        for d in self.docs:
            raw = sum(w * d.terms[t] / (d.terms[t] + 1) for t, w in idf.items() if d.terms[t])
            if raw:
                hits.append(SearchHit(d.file_id, d.filename, round(raw / best, 6), d.text))
        hits.sort(key=lambda h: (-h.score, h.filename))
        return hits[:max_results]
