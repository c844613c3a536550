"""safejson: `dumps` through the C encoder it keeps is `json.dumps` byte for byte, and a Template filled with
values is `dumps` of the whole object, over generated text: quotes, backslashes, control characters,
non-ASCII, astral characters and lone surrogates (which both clean to U+FFFD)."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.server.safejson import HOLE, Template, clean, dumps

# Text as streams carry it, and the worst of what a store may hold: every code point, surrogates included.
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(['"', "\\", "/", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "é", "€", "😀", "\u2028"]),
        st.characters(min_codepoint=0, max_codepoint=0x10FFFF),
        st.sampled_from(["\ud800", "\udfff", "\udbff\udc00"[:1]]),
    ),
    max_size=40,
)
JSONABLE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def reference(value: Any, compact: bool) -> str:
    """What dumps promised before it kept its encoder: json.dumps, of the cleaned value when it must be."""
    separators = (",", ":") if compact else (", ", ": ")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=separators)
        text.encode("utf-8")
        return text
    except (ValueError, UnicodeEncodeError):
        return json.dumps(clean(value), ensure_ascii=False, allow_nan=False, separators=separators)


@settings(max_examples=400)
@given(JSONABLE, st.booleans())
def test_dumps_is_json_dumps(value: Any, compact: bool) -> None:
    assert dumps(value, compact=compact) == reference(value, compact)


def test_dumps_still_refuses_what_json_cannot_encode() -> None:
    try:
        dumps({"a": object()})
    except TypeError as exc:
        assert "not JSON serializable" in str(exc)
    else:  # pragma: no cover - a failure
        raise AssertionError("dumps encoded an object")


def delta(message_id: str, value: Any, number: Any) -> dict[str, Any]:
    content = [{"index": 0, "type": "text", "text": {"value": value}}]
    return {
        "id": message_id,
        "object": "thread.message.delta",
        "sequence": number,
        "delta": {"content": content},
    }


@settings(max_examples=600)
@given(TEXT, TEXT, st.one_of(st.integers(), TEXT, st.floats(), st.none(), st.lists(TEXT, max_size=3)))
def test_a_filled_template_is_dumps_of_the_whole(fixed: str, text: str, number: Any) -> None:
    template = Template(delta(fixed, HOLE, HOLE))
    # The holes in the order of the text: "sequence" comes before the delta.
    assert template.fill(number, text) == dumps(delta(fixed, text, number), compact=True)


@settings(max_examples=200)
@given(JSONABLE, JSONABLE, TEXT)
def test_holes_anywhere_in_a_shape(fixed: Any, value: Any, text: str) -> None:
    shape = {"a": fixed, "b": [HOLE, {"c": HOLE}], "d": fixed}
    whole = {"a": fixed, "b": [value, {"c": text}], "d": fixed}
    assert Template(shape).fill(value, text) == dumps(whole, compact=True)


def test_a_template_takes_as_many_values_as_it_has_holes() -> None:
    template = Template({"a": HOLE, "b": 1.5, "c": math.inf})
    assert template.fill("x") == '{"a":"x","b":1.5,"c":null}'
    try:
        template.fill("x", "y")
    except TypeError:
        pass
    else:  # pragma: no cover - a failure
        raise AssertionError("fill took two values for one hole")


# -- the streams' delta templates: the same data text as the events' dicts --------------------------------


@settings(max_examples=300)
@given(TEXT)
def test_a_message_text_delta_from_its_template(text: str) -> None:
    from runner.server.streaming import message_delta, text_delta_template

    expected = dumps(message_delta("msg_abc", {"value": text}), compact=True)
    assert text_delta_template("msg_abc").fill(text) == expected


class _Captured:
    """A Bus that keeps what is published, as the streams would receive it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def followed(self, run_id: str) -> bool:
        return True

    def publish(self, run_id: str, event: str, data: dict[str, Any]) -> None:
        self.events.append((event, dumps(data, compact=True)))

    def publish_encoded(self, run_id: str, event: str, text: str) -> None:
        self.events.append((event, text))


@settings(max_examples=200)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_response_deltas_from_their_templates(texts: list[str]) -> None:
    from runner.server import responses_streaming
    from runner.server.responses_streaming import ResponseEvents

    bus = _Captured()
    events = ResponseEvents(bus, "resp_1")  # type: ignore[arg-type]
    pads: list[str] = []
    padding = responses_streaming._padding
    responses_streaming._padding = lambda delta: pads.append(padding(delta)) or pads[-1]  # type: ignore[assignment,func-returns-value]
    try:
        for text in texts:
            events.text_delta(1, "msg_1", text)
            events.arguments_delta(2, "fc_1", text)
            events.code_delta(3, "ci_1", text)
    finally:
        responses_streaming._padding = padding
    expected = []
    for n, text in enumerate(texts):
        pad = iter(pads[3 * n : 3 * n + 3])
        shapes = [
            ("response.output_text.delta", {"item_id": "msg_1", "output_index": 1, "content_index": 0,
             "delta": text, "logprobs": [], "obfuscation": next(pad)}),
            ("response.function_call_arguments.delta", {"item_id": "fc_1", "output_index": 2, "delta": text,
             "obfuscation": next(pad)}),
            ("response.code_interpreter_call_code.delta", {"output_index": 3, "item_id": "ci_1",
             "delta": text, "obfuscation": next(pad)}),
        ]  # fmt: skip
        for k, (kind, fields) in enumerate(shapes):
            data = {"type": kind, "sequence_number": 3 * n + k, **fields}
            expected.append((kind, dumps(data, compact=True)))
    assert bus.events == expected
