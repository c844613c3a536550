"""file_search: the query, the in-memory retriever, the quoted sentence and its citation."""

from __future__ import annotations

import re
from dataclasses import replace

from runner.sim import (
    FileSearchCall,
    MemoryRetriever,
    Message,
    MessageStep,
    ModelInput,
    SearchHit,
    Simulator,
    ToolCallsStep,
)
from runner.sim.search import best_quote, marker, search_query

from ..shared import shared_path

SEARCH = {"type": "file_search"}


def test_the_query_keeps_the_users_content_words_once() -> None:
    assert search_query("How did Odile keep the light working when the clockwork jammed?") == (
        "Odile keep light working clockwork jammed"
    )
    assert search_query("What was the name of Odile's cat? Odile's!") == "name Odile cat"
    assert search_query("What is it?") == "What is it?"


def test_the_memory_retriever_ranks_files_by_shared_rare_words(retriever: MemoryRetriever) -> None:
    hits = retriever.search("clockwork jammed", 5)
    assert hits[0].file_id == "corpus/harbor-light/02-the-storm.md"
    assert all(0 < h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len(retriever.search("clockwork jammed", 1)) == 1
    assert retriever.search("election results", 5) == []


def test_the_memory_retriever_reads_files_from_paths(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "a.txt").write_text("Filip Carola: cake", encoding="utf-8")
    (folder / "b.txt").write_text("Tekakwitha Effie: pizza", encoding="utf-8")
    [hit] = MemoryRetriever.from_paths(folder.glob("*.txt")).search("Filip", 5)
    assert (hit.file_id, hit.filename, hit.score, hit.text) == ("file-a", "a.txt", 0.5, "Filip Carola: cake")


def hits(*texts: str) -> tuple[SearchHit, ...]:
    return tuple(SearchHit(f"file-{i}", f"{i}.md", 1.0 - i / 10, t) for i, t in enumerate(texts))


def test_a_context_clause_locates_the_event_and_the_answer_follows_it() -> None:
    chapter = (
        "# Chapter\n\nThe boat left at dawn. On the second night the engine failed.\n"
        "A belt had snapped. Ana rowed the boat home. Ana slept."
    )
    quote = best_quote("How did Ana get the boat home when the engine failed?", hits(chapter))
    assert quote is not None
    assert quote.sentence == "Ana rowed the boat home."


def test_without_context_rare_words_and_the_hit_score_decide() -> None:
    quote = best_quote(
        "What was the name of the cat?", hits("Odile had a boat.", "Her grey cat was called Pilot.")
    )
    assert quote is not None
    assert (quote.sentence, quote.result_index, quote.hit.file_id) == (
        "Her grey cat was called Pilot.",
        1,
        "file-1",
    )
    assert best_quote("anything", ()) is None


def test_the_marker_has_the_real_apis_form() -> None:
    recorded = shared_path("recordings", "FileSearchWorks.json").read_text(encoding="utf-8")
    real = re.search(r"【\d+:\d+†[^】]+】", recorded)
    assert real is not None
    assert re.fullmatch(r"【\d+:\d+†[^】]+】", marker(4, 0, "favorite_foods.txt"))
    assert marker(4, 0, "favorite_foods.txt") == real.group(0)


def searched(text: str, results: tuple[SearchHit, ...], instructions: str = "") -> MessageStep:
    inp = ModelInput(instructions=instructions, tools=(SEARCH,), messages=(Message("user", text),))
    first = Simulator().step(inp)
    assert isinstance(first, ToolCallsStep)
    [call] = first.calls
    assert isinstance(call, FileSearchCall)
    done = ToolCallsStep((replace(call, results=results),))
    out = Simulator().step(replace(inp, steps=(done,)))
    assert isinstance(out, MessageStep)
    return out


def test_the_answer_quotes_the_sentence_and_the_citation_points_at_its_marker() -> None:
    out = searched(
        "What is Filip's favorite food?", hits("Summanus Ferdinand: tacos.\n\nFilip's favorite food is cake.")
    )
    assert out.text == "According to the files, “Filip's favorite food is cake”【0:0†0.md】."
    [citation] = out.citations
    assert out.text[citation.start_index : citation.end_index] == citation.text == "【0:0†0.md】"
    assert (citation.file_id, citation.quote) == ("file-0", "Filip's favorite food is cake.")
    assert citation.to_api() == {
        "type": "file_citation",
        "text": "【0:0†0.md】",
        "start_index": citation.start_index,
        "end_index": citation.end_index,
        "file_citation": {"file_id": "file-0"},
    }


def test_nothing_found_is_said_plainly_or_as_the_instructions_ask() -> None:
    assert searched("Who won?", ()).text == "I could not find anything about that in the files."
    assert searched("누가 이겼나요?", ()).text == "파일에서 관련 내용을 찾지 못했습니다."
    story = "If the files do not say, answer that the story does not tell."
    out = searched("Who won?", (), story)
    assert (out.text, out.citations) == ("The story does not tell.", ())


def test_words_are_compared_after_light_suffix_stripping() -> None:
    from runner.sim.text import stem

    assert [
        stem(w) for w in ("Cities", "working", "jammed", "stopped", "called", "boxes", "glass", "Odile’s")
    ] == [
        "city",
        "work",
        "jam",
        "stop",
        "call",
        "boxe",
        "glass",
        "odile",
    ]
