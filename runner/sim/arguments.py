"""Function-call arguments built from the function's JSON Schema `parameters` and the user's words.

Each property is filled from evidence in the text, chosen by the property's type and by the words of its name
and description; required properties are always present, optional ones only when the text supports them.
Only declared properties are produced, so `additionalProperties: false` holds."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.sim.text import STOPWORDS, split_identifier, stem, words, wordset

PLACE_WORDS = wordset("city town location place country destination origin from to region address where area")
PERSON_WORDS = wordset("name person user username recipient who author customer contact")
DATE_WORDS = wordset("date day when time")
FREE_TEXT_WORDS = wordset("query q search text question prompt message input keywords topic term")
# In a structured answer: the properties that hold what the model says.
ANSWER_WORDS = wordset(
    "answer reply response result output summary explanation reasoning content message text conclusion verdict"
)
_PLACE_PREPOSITIONS = wordset("in at to from near around")
_NEGATIONS = wordset("no not without don't dont never")
MAX_DIGITS = 15  # longer numbers do not survive a float, and JSON has no infinity
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
# A number in the model's own sentence: it may end the sentence ("= 391.") and group thousands ("1,234").
_REPLY_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w)(?!\.\d)")
_QUOTED = re.compile(r"`([^`]+)`|\"([^\"]+)\"|“([^”]+)”")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://\S+[^\s.,;:!?)]")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_RELATIVE_DAY = re.compile(r"\b(today|tomorrow|tonight|yesterday)\b", re.IGNORECASE)


@dataclass
class Evidence:
    text: str
    words: list[str]
    stems: list[str]
    numbers: list[tuple[int, float]]  # (word position, value), in order
    used_numbers: set[int]
    phrases: list[tuple[str, bool, bool]]
    # For a structured answer (runner/sim/structured.py): what the model would have said, and its yes/no.
    reply: str | None = None
    truth: bool | None = None

    @classmethod
    def of(cls, text: str, reply: str | None = None, truth: bool | None = None) -> Evidence:
        ws = words(text)
        tokens = re.finditer(r"-?\d+(?:\.\d+)?|[^\W\d_]+", text)
        numbers = [
            (i, float(t.group(0)))
            for i, t in enumerate(tokens)
            if _NUMBER.fullmatch(t.group(0)) and len(t.group(0)) <= MAX_DIGITS
        ]
        return cls(text, ws, [stem(w) for w in ws], numbers, set(), _phrases(text), reply, truth)


def _phrases(text: str) -> list[tuple[str, bool, bool]]:
    """Runs of capitalised words that are not common words ("Lisbon", "New York"), each with whether a place
    preposition precedes it and whether it opens a sentence (where capitals say less)."""
    out: list[tuple[str, bool, bool]] = []
    run: list[str] = []
    flags = (False, False)
    previous = ""
    for m in re.finditer(r"[^\W\d_]+(?:['’][^\W\d_]+)*", text):
        w = m.group(0)
        if w[:1].isupper() and w.lower() not in STOPWORDS:
            if not run:
                opening = not text[: m.start()].strip() or text[: m.start()].rstrip()[-1] in ".!?"
                flags = (previous.lower() in _PLACE_PREPOSITIONS, opening)
            run.append(re.sub(r"['’]s$", "", w))
        elif run:
            out.append((" ".join(run), *flags))
            run = []
        previous = w
    if run:
        out.append((" ".join(run), *flags))
    return out


def resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local `$ref` and take the first non-null branch of `anyOf`/`oneOf`."""
    for _ in range(16):  # a guard against reference cycles
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            schema = target
            continue
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                non_null = [b for b in branches if isinstance(b, Mapping) and b.get("type") != "null"]
                schema = {**{k: v for k, v in schema.items() if k != key}, **(non_null or branches)[0]}
                break
        else:
            return schema
    return schema


def _type(schema: Mapping[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t is None:
        return "object" if "properties" in schema else "string"
    return str(t)


def _kind_words(name: str, schema: Mapping[str, Any]) -> set[str]:
    own = set(split_identifier(name))
    description = schema.get("description")
    if isinstance(description, str):
        own |= {w.lower() for w in words(description)[:4]}  # "City name, for example..." -> city, name
    return own


def _mentioned(ev: Evidence, value: str) -> int | None:
    """Where a value is mentioned as whole words (case-insensitive), or None."""
    m = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", ev.text, re.IGNORECASE)
    return m.start() if m else None


def _string(name: str, schema: Mapping[str, Any], ev: Evidence, required: bool) -> Any:
    kinds = _kind_words(name, schema)
    if ev.reply is not None and (kinds & ANSWER_WORDS or not name):
        return ev.reply
    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        m = re.search(pattern.strip("^$"), ev.text)
        if m:
            return m.group(0)
    elif fmt == "email" or "email" in kinds:
        m = _EMAIL.search(ev.text)
        if m:
            return m.group(0)
    elif fmt in ("uri", "url") or kinds & {"url", "link", "website"}:
        m = _URL.search(ev.text)
        if m:
            return m.group(0)
    elif fmt == "date" or kinds & DATE_WORDS:
        m = _ISO_DATE.search(ev.text) or _RELATIVE_DAY.search(ev.text)
        if m:
            return m.group(0).lower()
    if kinds & (PLACE_WORDS | PERSON_WORDS) and ev.phrases:
        wants_place = bool(kinds & PLACE_WORDS)
        ranked = sorted(ev.phrases, key=lambda p: (p[2], p[1] != wants_place))  # stable: text order
        return ranked[0][0]
    if kinds & FREE_TEXT_WORDS:
        return " ".join(ev.text.split()).rstrip("?!. ")
    quoted = _QUOTED.search(ev.text)
    if quoted:
        return next(g for g in quoted.groups() if g)
    if not required:
        return None
    return _fallback(schema, "")


def _number(name: str, schema: Mapping[str, Any], ev: Evidence, integer: bool, required: bool) -> Any:
    """The number next to a word of the property's name ("3 nights" for `nights`), else the next unused one."""
    own = {stem(w) for w in split_identifier(name)}
    if ev.reply is not None and (set(split_identifier(name)) & ANSWER_WORDS or not name):
        said = [float(n.replace(",", "")) for n in _REPLY_NUMBER.findall(ev.reply) if len(n) <= MAX_DIGITS]
        if said:  # the last number of the reply is its result ("17 × 23 = 391")
            return _clamped(said[-1], schema, integer)
    word_positions = [i for i, s in enumerate(ev.stems) if s in own]
    chosen = next(
        (
            n
            for n in ev.numbers
            if n[0] not in ev.used_numbers and any(abs(n[0] - p) <= 2 for p in word_positions)
        ),
        None,
    )
    if chosen is None:
        chosen = next((n for n in ev.numbers if n[0] not in ev.used_numbers), None)
    if chosen is None:
        if not required:
            return None
        value = float(_fallback(schema, schema.get("minimum", 0)))
    else:
        ev.used_numbers.add(chosen[0])
        value = chosen[1]
    return _clamped(value, schema, integer)


def _clamped(value: float, schema: Mapping[str, Any], integer: bool) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low = schema["exclusiveMinimum"] + (1 if integer else 1e-9)
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = schema["exclusiveMaximum"] - (1 if integer else 1e-9)
    if isinstance(low, int | float):
        value = max(value, float(low))
    if isinstance(high, int | float):
        value = min(value, float(high))
    if integer or value.is_integer():
        return round(value)
    return value


def _boolean(name: str, schema: Mapping[str, Any], ev: Evidence, required: bool) -> Any:
    """True when the property's words are mentioned, False when they are mentioned after a negation."""
    parts = split_identifier(name)
    if ev.truth is not None and (set(parts) & ANSWER_WORDS or parts[:1] in (["is"], ["has"]) or not name):
        return ev.truth
    own = {stem(w) for w in parts if w not in STOPWORDS}
    for i, s in enumerate(ev.stems):
        if s in own:
            before = {w.lower() for w in ev.words[max(0, i - 3) : i]}
            return not (before & _NEGATIONS)
    return _fallback(schema, False) if required else None


def _fallback(schema: Mapping[str, Any], last_resort: Any) -> Any:
    if "default" in schema:
        return schema["default"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    return last_resort


def value_for(
    name: str, schema: Mapping[str, Any], ev: Evidence, required: bool, root: Mapping[str, Any]
) -> Any:
    schema = resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        positions = [(_mentioned(ev, str(v)), i) for i, v in enumerate(enum)]
        found = sorted((p, i) for p, i in positions if p is not None)
        if found:
            return enum[found[0][1]]
        return _fallback(schema, enum[0]) if required else None
    kind = _type(schema)
    if kind == "object":
        return build_object(schema, ev, root, required)
    if kind == "array":
        item = value_for(name, schema.get("items", {}), ev, False, root)
        items = [] if item is None else [item]
        if not items and required and schema.get("minItems", 0) > 0:
            items = [value_for(name, schema.get("items", {}), ev, True, root)]
        return items if items or required else None
    if kind in ("integer", "number"):
        return _number(name, schema, ev, kind == "integer", required)
    if kind == "boolean":
        return _boolean(name, schema, ev, required)
    if kind == "null":
        return None
    value = _string(name, schema, ev, required)
    if isinstance(value, str) and isinstance(schema.get("maxLength"), int):
        value = value[: schema["maxLength"]]
    return value


def build_object(
    schema: Mapping[str, Any], ev: Evidence, root: Mapping[str, Any], required: bool = True
) -> dict[str, Any] | None:
    properties = schema.get("properties") or {}
    needed = set(schema.get("required") or ())
    out: dict[str, Any] = {}
    for prop, sub in properties.items():
        value = value_for(prop, sub if isinstance(sub, Mapping) else {}, ev, prop in needed, root)
        if value is not None or prop in needed:
            out[prop] = value
    return out if out or required else None


def build_arguments(parameters: Mapping[str, Any] | None, text: str) -> str:
    """The call's `arguments`: compact JSON, as models write it."""
    if not parameters:
        return "{}"
    args = build_object(parameters, Evidence.of(text), parameters) or {}
    return json.dumps(args, ensure_ascii=False, separators=(",", ":"))
