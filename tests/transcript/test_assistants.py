"""The Assistants API's message annotations in the transcript's citation form, table by table."""

from __future__ import annotations

import json
from typing import Any

from runner.transcript.assistants import reply_from_message, reply_from_text
from runner.transcript.form import Citation, FileLink, Placeholders, Reply

from ..shared import shared_path

STORM = "corpus/harbor-light/02-the-storm.md"
KEEPER = "corpus/harbor-light/01-the-keeper.md"


def cite(marker: str, start: int, file_id: str, quote: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"file_id": file_id}
    if quote is not None:
        target["quote"] = quote
    return {
        "type": "file_citation",
        "text": marker,
        "start_index": start,
        "end_index": start + len(marker),
        "file_citation": target,
    }


def ids() -> Placeholders:
    return Placeholders({"file-storm": STORM, "file-keeper": KEEPER})


def test_the_recorded_shape_loses_its_marker_and_keeps_its_place() -> None:
    # As the real API answered (recordings/FileSearchWorks.json): the marker sits right after the cited
    # words, 29..53; the Responses API gives the same place as `index` (29) with no marker in the text.
    value = "Filip's favorite food is cake【4:0†favorite_foods.txt】."
    reply = reply_from_text(value, [cite("【4:0†favorite_foods.txt】", 29, "file-storm")], ids())
    assert reply == Reply("Filip's favorite food is cake.", (Citation(STORM, 29),))
    assert reply.text[: reply.citations[0].index] == "Filip's favorite food is cake"


def test_several_markers_korean_text_and_quotes() -> None:
    value = "오딜은 “by hand”【0:0†a】라고 했고, 고양이는 Pilot【0:1†b】입니다."
    first, second = value.index("【0:0"), value.index("【0:1")
    notes = [cite("【0:0†a】", first, "file-storm", "by hand"), cite("【0:1†b】", second, "file-keeper", "")]
    reply = reply_from_text(value, notes, ids())
    assert reply.text == "오딜은 “by hand”라고 했고, 고양이는 Pilot입니다."
    assert reply.citations == (
        Citation(STORM, reply.text.index("라고"), "by hand"),
        Citation(KEEPER, reply.text.index("입니다")),
    )
    assert reply.to_data() == {
        "text": reply.text,
        "citations": [
            {"file": STORM, "index": 13, "quote": "by hand"},
            {"file": KEEPER, "index": 30},
        ],
    }


def test_markers_are_found_by_their_text_when_the_indexes_do_not_hold_them() -> None:
    # Streamed annotations can come without indexes, or with indexes of a longer text: the marker text wins.
    value = "One【1†x】 and two【2†y】."
    notes = [
        {"type": "file_citation", "text": "【1†x】", "file_citation": {"file_id": "file-storm"}},
        {**cite("【2†y】", 0, "file-keeper")},
    ]
    reply = reply_from_text(value, notes, ids())
    assert reply == Reply("One and two.", (Citation(STORM, 3), Citation(KEEPER, 11)))


def test_one_marker_cited_twice_and_a_citation_without_a_marker() -> None:
    value = "Both【0:0†a】."
    notes = [cite("【0:0†a】", 4, "file-storm"), cite("【0:0†a】", 4, "file-keeper")]
    notes.append({"type": "file_citation", "text": "", "start_index": 99, "file_citation": {"file_id": "z"}})
    reply = reply_from_text(value, notes, ids())
    assert reply.text == "Both."
    assert reply.citations == (Citation(STORM, 4), Citation(KEEPER, 4), Citation("file_1", 5))


def test_a_marker_without_a_file_is_cut_but_not_listed() -> None:
    note = {"type": "file_citation", "text": "【0†q】", "start_index": 2, "end_index": 6, "file_citation": {}}
    assert reply_from_text("Hi【0†q】!", [note], ids()) == Reply("Hi!")


def test_file_path_links_stay_in_the_text_and_move_with_the_cut_markers() -> None:
    link = "sandbox:/mnt/data/plot.png"
    value = f"See【0:0†a】 [the plot]({link})."
    notes = [
        cite("【0:0†a】", 3, "file-storm"),
        {
            "type": "file_path",
            "text": link,
            "start_index": value.index(link),
            "end_index": value.index(link) + len(link),
            "file_path": {"file_id": "file-made"},
        },
    ]
    reply = reply_from_text(value, notes, ids())
    assert reply.text == f"See [the plot]({link})."
    start = reply.text.index(link)
    assert reply.files == (FileLink("file_1", start, start + len(link)),)
    assert reply.text[start : start + len(link)] == link
    assert reply.to_data()["files"] == [{"file": "file_1", "start": start, "end": start + len(link)}]


def test_a_message_with_several_text_parts_is_one_reply() -> None:
    message = {
        "content": [
            {
                "type": "text",
                "text": {"value": "A【0†a】.", "annotations": [cite("【0†a】", 1, "file-storm")]},
            },
            {"type": "image_file", "image_file": {"file_id": "file-img"}},
            {
                "type": "text",
                "text": {"value": "B【1†b】.", "annotations": [cite("【1†b】", 1, "file-keeper")]},
            },
        ]
    }
    reply = reply_from_message(message, ids())
    assert reply == Reply("A.\nB.", (Citation(STORM, 1), Citation(KEEPER, 4)))
    assert reply_from_message({"content": []}, ids()) == Reply("")
    assert reply_from_message({"content": []}, ids()).to_data() == {"text": ""}


def test_every_recorded_assistants_message_maps_without_markers() -> None:
    path = shared_path("recordings", "FileSearchWorks.json")
    seen = 0
    for entry in json.loads(path.read_text(encoding="utf-8"))["Entries"]:
        body = entry.get("ResponseBody")
        messages = body.get("data", []) if isinstance(body, dict) else []
        for message in messages:
            if message.get("object") != "thread.message" or message.get("role") != "assistant":
                continue
            reply = reply_from_message(message, Placeholders({}))
            assert "【" not in reply.text
            for citation in reply.citations:
                assert 0 < citation.index <= len(reply.text)
                seen += 1
    assert seen
