"""The streaming model seam as the simulator implements it: the pieces add up to the step, the events come
in the documented order, `max_tokens` stops a step, and the pacing keeps to absolute deadlines."""

from __future__ import annotations

import asyncio
import json

import pytest

from runner.sim import (
    Citation,
    CodeInterpreterCall,
    FileSearchCall,
    FunctionCall,
    Message,
    MessageStep,
    ModelEvent,
    ModelInput,
    SimulatedModel,
    Simulator,
    StepDone,
    StepStart,
    TextDelta,
    ToolCallDelta,
    ToolCallsStep,
    Usage,
    count_tokens,
    paced,
    pieces,
    within_budget,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _collect(model: SimulatedModel, inp: ModelInput) -> list[ModelEvent]:
    async def run() -> list[ModelEvent]:
        return [e async for e in model.stream(inp)]

    return asyncio.run(run())


def _ask(text: str, **fields: object) -> ModelInput:
    return ModelInput(messages=(Message("user", text),), **fields)  # type: ignore[arg-type]


def test_a_message_streams_as_pieces_that_add_up_to_its_text() -> None:
    inp = _ask("Hello there, what can you do?")
    events = _collect(SimulatedModel(0), inp)
    assert events[0] == StepStart("message")
    done = events[-1]
    assert isinstance(done, StepDone) and done.finish == "stop"
    assert done.step == Simulator().step(inp)
    texts = [e.text for e in events[1:-1] if isinstance(e, TextDelta)]
    assert len(texts) == len(events) - 2 > 3
    assert "".join(texts) == done.step.text  # type: ignore[union-attr]


def test_a_citation_marker_is_one_piece_that_carries_its_citation() -> None:
    text = "According to the files, “x”【0:0†a.md】."
    start = text.index("【")
    cite = Citation(text[start : text.index("】") + 1], "file-1", "a.md", "x", start, text.index("】") + 1)
    events = list(pieces(StepDone(MessageStep(text, (cite,), Usage(1, count_tokens(text))))))
    cited = [e for e in events if isinstance(e, TextDelta) and e.citations]
    assert cited == [TextDelta(cite.text, (cite,))]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == text


def test_tool_calls_stream_per_index_with_the_name_first() -> None:
    inp = _ask("What is the weather in Paris?", tools=(WEATHER,), tool_choice="required")
    events = _collect(SimulatedModel(0), inp)
    assert events[0] == StepStart("tool_calls")
    done = events[-1]
    assert isinstance(done, StepDone) and isinstance(done.step, ToolCallsStep)
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0].name == "get_weather" and deltas[0].text == ""
    assert all(d.name == "" for d in deltas[1:])
    call = done.step.calls[0]
    assert isinstance(call, FunctionCall)
    assert "".join(d.text for d in deltas if d.index == 0) == call.arguments
    assert json.loads(call.arguments)["city"] == "Paris"


def test_code_and_search_calls_stream_their_code_and_query() -> None:
    code = CodeInterpreterCall("x = 1\nprint(x + 2)\n" * 4)
    search = FileSearchCall("keeper lighthouse")
    events = list(pieces(StepDone(ToolCallsStep((code, search), Usage(3, 4)))))
    by_index: dict[int, list[ToolCallDelta]] = {}
    for e in events:
        if isinstance(e, ToolCallDelta):
            by_index.setdefault(e.index, []).append(e)
    assert {d.kind for d in by_index[0]} == {"code_interpreter"} and len(by_index[0]) > 2
    assert "".join(d.text for d in by_index[0]) == code.input
    assert by_index[1] == [ToolCallDelta(1, "file_search", "", "keeper lighthouse")]


def test_max_tokens_clips_a_message_and_refuses_a_tool_step() -> None:
    step = MessageStep("one two three four five.", (), Usage(7, 6))
    clipped = within_budget(step, 3)
    assert clipped.finish == "length" and clipped.step == MessageStep("one two three", (), Usage(7, 3))
    assert within_budget(step, 6) == StepDone(step)
    calls = ToolCallsStep((FunctionCall("f", '{"a": 1}'),), Usage(7, 9))
    refused = within_budget(calls, 2)
    assert refused == StepDone(ToolCallsStep((), Usage(7, 0)), "length")
    assert list(pieces(refused)) == [refused]  # nothing written: no StepStart


def test_the_stream_honours_max_tokens_from_the_input() -> None:
    inp = _ask("Hello there, what can you do? Tell me everything.", max_tokens=2)
    done = _collect(SimulatedModel(0), inp)[-1]
    assert isinstance(done, StepDone) and done.finish == "length"
    assert done.step.usage.completion_tokens <= 2


def test_pacing_keeps_to_absolute_deadlines_whatever_the_consumer_takes() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    text = "a b c d"
    events = list(pieces(StepDone(MessageStep(text, (), Usage(0, 4)))))

    async def consume() -> list[float]:
        due = []
        async for event in paced(events, 2.0, clock=lambda: now[0], sleep=sleep):
            if isinstance(event, TextDelta):
                due.append(now[0])
                now[0] += 0.3  # a slow consumer: the next deadline does not move
        return due

    due = asyncio.run(consume())
    assert due == pytest.approx([100.5, 101.0, 101.5, 102.0])
    assert slept == pytest.approx([0.5, 0.2, 0.2, 0.2])


def test_closing_the_stream_stops_the_model() -> None:
    async def first_two() -> list[ModelEvent]:
        stream = SimulatedModel(10.0).stream(_ask("Hello there, what can you do?"))
        got = [await anext(stream), await asyncio.wait_for(anext(stream), 30)]
        await stream.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
        return got

    got = asyncio.run(first_two())
    assert got[0] == StepStart("message") and isinstance(got[1], TextDelta)


def test_deltas_already_due_come_at_once_and_the_loop_still_gets_turns() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    text = " ".join("w" * 20)
    events = list(pieces(StepDone(MessageStep(text, (), Usage(0, 20)))))

    async def consume() -> int:
        deltas = 0
        async for event in paced(events, 1.0, clock=lambda: now[0], sleep=sleep):
            if isinstance(event, TextDelta):
                deltas += 1
                if deltas == 2:
                    now[0] += 0.86  # the consumer stalls: deltas 3 to 19 are due by now
        return deltas

    assert asyncio.run(consume()) == 20
    # A sleep for each of the first two deltas; of the 17 overdue ones the ninth gives the loop a turn (a
    # zero sleep) and the others come at once; the last one is waited for again.
    assert slept == pytest.approx([0.05, 0.05, 0.0, 0.04])
