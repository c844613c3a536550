"""Normalised comparison of transcript sets: structure exactly, reply text exactly or by similarity."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runner.transcript.io import dump_to_show, read_pair, transcript_files

Status = Literal["same", "changed", "added", "removed"]


# What a diff ignores unless asked (--include): volatile or not the assistant's behaviour.
OPTIONAL = ("api", "spec_hash", "usage")


@dataclass(frozen=True)
class Options:
    # Parts of OPTIONAL to compare as well: "usage", "spec_hash" (the assistant's), "api" (the protocol).
    include: frozenset[str] = frozenset()
    # None: reply text must match exactly; X in (0, 1]: texts at least this similar count as equal.
    text_similarity: float | None = None
    allow_orphans: bool = False
    # With --shard, only the shard's scenarios count; other shards' goldens are neither compared nor orphans.
    owns: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class Section:
    """One part of a transcript that differs: the header, a turn, or usage, with its unified diff."""

    title: str
    turn: int | None
    diff: tuple[str, ...]
    user: str | None = None


@dataclass(frozen=True)
class ScenarioDiff:
    name: str
    status: Status
    sections: tuple[Section, ...] = ()
    # Header values that differ but are not compared (spec_hash, api), as "field: golden -> new".
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiffResult:
    scenarios: tuple[ScenarioDiff, ...]
    options: Options = field(default_factory=Options)

    def count(self, status: Status) -> int:
        return sum(1 for s in self.scenarios if s.status == status)

    def failing(self, scenario: ScenarioDiff) -> bool:
        if scenario.status == "removed":
            return not self.options.allow_orphans
        return scenario.status != "same"

    @property
    def same(self) -> bool:
        return not any(self.failing(s) for s in self.scenarios)


def similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _user_text(turn: dict[str, Any]) -> str:
    user = turn.get("user")
    return user.get("text", "") if isinstance(user, dict) else str(user or "")


def normalise(
    golden: dict[str, Any], new: dict[str, Any], options: Options
) -> tuple[dict[str, Any], dict[str, Any]]:
    # Copies only of what is changed below: the rest is shared with the callers' data, which nothing here
    # writes to (a deep copy of both transcripts was a fifth of a diff of changed sets).
    old, cur = dict(golden), dict(new)
    for side in (old, cur):
        if "usage" not in options.include:
            side.pop("usage", None)
        if "api" not in options.include:
            side.pop("api", None)
        assistant = side.get("assistant")
        if "spec_hash" not in options.include and isinstance(assistant, dict):
            side["assistant"] = {k: v for k, v in assistant.items() if k != "spec_hash"}
    if options.text_similarity is None:
        return old, cur
    for side in (old, cur):
        if isinstance(side.get("turns"), list):
            side["turns"] = [_writable(turn) for turn in side["turns"]]
    old_turns = {t.get("turn"): t for t in old.get("turns", [])}
    for turn in cur.get("turns", []):
        before = old_turns.get(turn.get("turn"))
        if before is None:
            continue
        for message, was in zip(turn.get("reply", []), before.get("reply", []), strict=False):
            if similarity(was.get("text", ""), message.get("text", "")) >= options.text_similarity:
                message["text"] = was.get("text", "")
                # Places in the text move with its wording; which files are cited still compares exactly.
                for key, fixed in (("citations", ("index",)), ("files", ("start", "end"))):
                    for mine, theirs in zip(message.get(key, []), was.get(key, []), strict=False):
                        if _without(mine, fixed) == _without(theirs, fixed):
                            mine.update({k: theirs[k] for k in fixed if k in theirs})
        # Failure details quote the reply; with a tolerance, outcomes compare and wording does not.
        for side in (turn, before):
            for result in side.get("expectations", []):
                result.pop("detail", None)
    return old, cur


def _copies(items: Any) -> Any:
    return (
        [dict(item) if isinstance(item, dict) else item for item in items]
        if isinstance(items, list)
        else items
    )


def _writable(turn: Any) -> Any:
    """A copy of what `normalise` rewrites in a turn (reply texts, citation and file places, expectation
    details), sharing the rest."""
    if not isinstance(turn, dict):
        return turn
    turn = dict(turn)
    if "reply" in turn:
        turn["reply"] = _copies(turn["reply"])
        for message in turn["reply"] if isinstance(turn["reply"], list) else ():
            if isinstance(message, dict):
                for key in ("citations", "files"):
                    if key in message:
                        message[key] = _copies(message[key])
    if "expectations" in turn:
        turn["expectations"] = _copies(turn["expectations"])
    return turn


def context(golden: dict[str, Any], new: dict[str, Any], options: Options) -> tuple[str, ...]:
    """The header values a diff does not compare (unless asked) that differ, for reports to show."""

    def spec(data: dict[str, Any]) -> Any:
        assistant = data.get("assistant")
        return assistant.get("spec_hash") if isinstance(assistant, dict) else None

    notes = []
    for name, read in (("api", lambda d: d.get("api")), ("spec_hash", spec)):
        before, after = read(golden), read(new)
        if name not in options.include and before != after:
            notes.append(f"{name}: {_short(before)} -> {_short(after)}")
    return tuple(notes)


def _short(value: Any) -> str:
    text = str(value or "(none)")
    return text[: len("sha256:") + 12] if text.startswith("sha256:") else text


def _without(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


def _lines(value: Any) -> list[str]:
    return [] if value is None else dump_to_show(value).splitlines()


def _section(title: str, turn: int | None, old: Any, new: Any, user: str | None = None) -> Section | None:
    if old == new:
        return None
    diff = difflib.unified_diff(_lines(old), _lines(new), "golden", "new", lineterm="", n=3)
    return Section(title, turn, tuple(diff), user)


def compare_transcripts(golden: dict[str, Any], new: dict[str, Any], options: Options) -> tuple[Section, ...]:
    old, cur = normalise(golden, new, options)
    sections: list[Section] = []
    head_old = {k: v for k, v in old.items() if k not in ("turns", "usage")}
    head_new = {k: v for k, v in cur.items() if k not in ("turns", "usage")}
    if found := _section("scenario", None, head_old, head_new):
        sections.append(found)
    old_turns = {t.get("turn"): t for t in old.get("turns", [])}
    new_turns = {t.get("turn"): t for t in cur.get("turns", [])}
    for number in sorted(set(old_turns) | set(new_turns), key=lambda n: (n is None, n)):
        before, after = old_turns.get(number), new_turns.get(number)
        user = _user_text(after or before or {})
        if found := _section(f"turn {number}", number, before, after, user):
            sections.append(found)
    if found := _section("usage", None, old.get("usage"), cur.get("usage")):
        sections.append(found)
    return tuple(sections)


def compare_pair(
    name: str, golden: Path, new: Path, before: bytes, after: bytes, options: Options
) -> ScenarioDiff:
    old, cur = read_pair(golden, new, before, after)
    sections = compare_transcripts(old, cur, options)
    status: Status = "changed" if sections else "same"
    return ScenarioDiff(name, status, sections, context(old, cur, options))


def compare_sets(golden_dir: Path, new_dir: Path, options: Options, *, processes: int = 1) -> DiffResult:
    """`processes`: 2 lets a forked child compare half of the pairs that need reading, where that is safe
    and pays (runner/transcript/twoway.py); the result is the same."""
    golden = dict(transcript_files(golden_dir))
    new = dict(transcript_files(new_dir))
    if options.owns is not None:
        owns = options.owns
        golden = {k: v for k, v in golden.items() if owns(k)}
        new = {k: v for k, v in new.items() if owns(k)}
    results: list[ScenarioDiff | None] = []
    to_read: list[tuple[int, str, Path, Path, bytes, bytes]] = []
    for name in sorted(set(golden) | set(new)):
        if name not in new:
            results.append(ScenarioDiff(name, "removed"))
        elif name not in golden:
            results.append(ScenarioDiff(name, "added"))
        elif (before := golden[name].read_bytes()) == (after := new[name].read_bytes()):
            # Byte for byte the same file: nothing can differ, and nothing needs reading.
            results.append(ScenarioDiff(name, "same"))
        else:
            to_read.append((len(results), name, golden[name], new[name], before, after))
            results.append(None)

    def run(pairs: Sequence[tuple[int, str, Path, Path, bytes, bytes]]) -> list[ScenarioDiff]:
        return [compare_pair(name, g, n, b, a, options) for _, name, g, n, b, a in pairs]

    if processes > 1:
        from runner.transcript.twoway import split

        found = split(to_read, run)
    else:
        found = run(to_read)
    for (index, *_), scenario in zip(to_read, found, strict=True):
        results[index] = scenario
    return DiffResult(tuple(r for r in results if r is not None), options)
