"""The simulator behind the streaming model seam (`runner.sim.types.Model`): `Simulator.step` decides the
whole step at once, `pieces` cuts it the way a model streams it (a word or mark with its leading space per
text delta, a citation marker whole; a call's name first, then its arguments or code about 8 tokens at a
time), and `paced` spreads those events over the model time.

Pacing is to absolute deadlines: the k-th of n deltas of a step is due `k * model_time / n` after the step
started, however long the consumer took with the earlier ones, so a busy server does not stretch a step.
`StepStart` comes at once and `StepDone` right after the last delta. A delta waits on the event loop
(`asyncio.sleep`) until it is due; one already due (the consumer is late) comes at once, and at least every
eighth delta gives the loop a turn, so a consumer can check for a cancel between deltas and stop by
closing the generator.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from dataclasses import replace

from runner.sim.model import Simulator
from runner.sim.tokens import clip_to_tokens, count_tokens
from runner.sim.types import (
    Citation,
    CodeInterpreterCall,
    FunctionCall,
    MessageStep,
    ModelEvent,
    ModelInput,
    ModelStep,
    StepDone,
    StepStart,
    TextDelta,
    ToolCallDelta,
    ToolCallsStep,
    Usage,
)

_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])|\s+$")


def text_pieces(text: str, keep_whole: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) spans covering `text`: one word or punctuation mark with its leading space each, as the
    real API streams tokens, except that each `keep_whole` span (a citation marker) is one piece."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for start, end in sorted(keep_whole):
        spans.extend(_spans(text, pos, start))
        spans.append((start, end))
        pos = end
    spans.extend(_spans(text, pos, len(text)))
    return spans


def _spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    found = (m.span() for m in _PIECE.finditer(text, start, end))
    return [(a, b) for a, b in found if b > a]


def chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of about `size` tokens, for tool-call arguments and code input."""
    spans = _spans(text, 0, len(text))
    if not spans:
        return [text] if text else []
    starts = [s for s, _ in spans[::size]]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def within_budget(step: ModelStep, max_tokens: int | None) -> StepDone:
    """The step as written under `max_tokens`: a message keeps its longest prefix within the budget (and
    the citations wholly inside it); a tool step that does not fit is not written at all."""
    if max_tokens is None or step.usage.completion_tokens <= max_tokens:
        return StepDone(step)
    if isinstance(step, ToolCallsStep):
        return StepDone(ToolCallsStep((), Usage(step.usage.prompt_tokens, 0)), "length")
    text = clip_to_tokens(step.text, max_tokens)
    citations = tuple(c for c in step.citations if c.end_index <= len(text))
    usage = Usage(step.usage.prompt_tokens, count_tokens(text))
    return StepDone(replace(step, text=text, citations=citations, usage=usage), "length")


def pieces(done: StepDone) -> Iterator[ModelEvent]:
    """The events of one step, unpaced: StepStart, the deltas, StepDone (alone for a step not started)."""
    step = done.step
    if isinstance(step, MessageStep):
        yield StepStart("message")
        starting: dict[int, list[Citation]] = {}
        for c in step.citations:
            starting.setdefault(c.start_index, []).append(c)
        for start, end in text_pieces(step.text, [(c.start_index, c.end_index) for c in step.citations]):
            yield TextDelta(step.text[start:end], tuple(starting.get(start, ())))
    elif step.calls:
        yield StepStart("tool_calls")
        for index, call in enumerate(step.calls):
            if isinstance(call, FunctionCall):
                yield ToolCallDelta(index, "function", call.name, "")
                for part in chunks(call.arguments, 8):
                    yield ToolCallDelta(index, "function", "", part)
            elif isinstance(call, CodeInterpreterCall):
                yield ToolCallDelta(index, "code_interpreter", "", "")
                for part in chunks(call.input, 8):
                    yield ToolCallDelta(index, "code_interpreter", "", part)
            else:
                yield ToolCallDelta(index, "file_search", "", call.query)
    yield done


# Deltas already due that are passed on back to back before the event loop gets a turn anyway.
OVERDUE_RUN = 8


async def paced(
    events: list[ModelEvent],
    model_time: float,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncGenerator[ModelEvent, None]:
    """`events` spread over `model_time` seconds: each delta waits for its deadline, evenly spaced (the
    clock is the event loop's unless given). A delta whose deadline has passed (the consumer is running
    late) comes at once, without a trip through the event loop, so that a late consumer gets what it is
    owed together and its stream writes it in one go; after OVERDUE_RUN of those the loop gets its turn."""
    time = clock or asyncio.get_running_loop().time
    started = time()
    deltas = sum(1 for e in events if isinstance(e, (TextDelta, ToolCallDelta)))
    k = overdue = 0
    for event in events:
        if isinstance(event, (TextDelta, ToolCallDelta)):
            k += 1
            wait = started + k * model_time / deltas - time()
            if wait > 0 or overdue >= OVERDUE_RUN:
                await sleep(max(0.0, wait))
                overdue = 0
            else:
                overdue += 1
        yield event


class SimulatedModel:
    """The simulator as a streaming `Model`: each step takes `model_time` seconds, spread over its deltas."""

    def __init__(self, model_time: float = 0.5, simulator: Simulator | None = None) -> None:
        self.model_time = model_time
        self.simulator = simulator or Simulator()

    async def stream(self, inp: ModelInput) -> AsyncGenerator[ModelEvent, None]:
        done = within_budget(self.simulator.step(inp), inp.max_tokens)
        async for event in paced(list(pieces(done)), self.model_time):
            yield event
