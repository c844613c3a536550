from __future__ import annotations

from runner.server import retrieval


def test_tokens_are_words_and_single_punctuation() -> None:
    assert retrieval.count_tokens("Hello, world! 안녕하세요 x2") == 6
    assert retrieval.terms("Cake, CAKE and café") == ["cake", "cake", "and", "café"]


def test_chunks_overlap_and_keep_the_source_text() -> None:
    text = " ".join(f"w{i}" for i in range(10))
    chunks = retrieval.chunk(text, max_tokens=4, overlap=2)
    assert chunks == ["w0 w1 w2 w3", "w2 w3 w4 w5", "w4 w5 w6 w7", "w6 w7 w8 w9"]
    assert retrieval.chunk("line one\nline two", 800, 400) == ["line one\nline two"]
    assert retrieval.chunk("   ", 800, 400) == []


def test_auto_chunking_is_800_tokens_with_400_overlap() -> None:
    text = " ".join(f"t{i}" for i in range(2000))
    chunks = retrieval.chunk(text)
    assert [retrieval.count_tokens(c) for c in chunks] == [800, 800, 800, 800]
    assert chunks[1].split()[0] == "t400"


def _indexed(docs: dict[str, str]) -> list[retrieval.Indexed]:
    return [retrieval.Indexed("vs_1", name, 0, text, retrieval.terms(text)) for name, text in docs.items()]


def test_bm25_prefers_rarer_and_more_frequent_terms() -> None:
    pool = _indexed({"a": "the cat sat", "b": "the cat cat cat sat", "c": "the dog", "d": "the end"})
    hits = retrieval.rank(pool, ["cat"], 10)
    assert [h.file_id for h in hits] == ["b", "a"]
    assert all(0 < h.score <= 1 for h in hits)
    mixed = retrieval.rank(pool, ["the cat"], 10)
    assert [h.file_id for h in mixed] == ["b", "a", "c", "d"]
    assert mixed[2].score == mixed[3].score < mixed[1].score


def test_ties_are_broken_stably_and_threshold_and_limit_apply() -> None:
    pool = _indexed({"z": "same words", "m": "same words", "a": "same words"})
    assert [h.file_id for h in retrieval.rank(pool, ["words"], 10)] == ["a", "m", "z"]
    assert [h.file_id for h in retrieval.rank(pool, ["words"], 2)] == ["a", "m"]
    assert retrieval.rank(pool, ["words"], 10, score_threshold=1.0) == []
    assert retrieval.rank(pool, ["absent"], 10) == []
    assert retrieval.rank(pool, ["?!"], 10) == []
    assert retrieval.rank([], ["words"], 10) == []
