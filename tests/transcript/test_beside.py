"""A changed transcript read beside its golden (only the entries that differ parsed) is read as it would be
alone, or left to the careful loader; diff's output is the same as when every file is read whole."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

from runner.project.checks import item_check
from runner.reports.diff_report import render_json, render_text
from runner.transcript import compare, io, twoway
from runner.transcript.compare import Options, compare_sets
from runner.transcript.io import TranscriptInvalid, dump, read_transcript, write_transcript
from runner.transcript.quickload import is_valid, quick_load, quick_load_beside

from .factory import read_as_file, transcript

GOLDENS = Path(__file__).resolve().parents[2] / "transcripts"


def _check(new: str, golden: str, tmp_path: Path) -> Any:
    """quick_load_beside's answer, after checking that it is the answer of reading `new` alone (or None)."""
    old = quick_load(golden)
    assert old is not None
    found = quick_load_beside(new, golden, old)
    if found is not None:
        alone = read_as_file(new, tmp_path)
        assert not isinstance(alone, TranscriptInvalid), new
        assert found == alone and repr(found) == repr(alone), new
    return found


def _samples() -> list[dict[str, Any]]:
    return [
        transcript(),
        transcript("other", reply="one\ntwo"),
        *(read_transcript(p, p.name) for p in sorted(GOLDENS.rglob("*.yaml"))),
    ]


def _edited(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A valid transcript that differs from `data` the way replays differ: a reply, a header value, a turn
    more or less, turns reordered."""
    out = copy.deepcopy(data)
    action = rng.randrange(5)
    turns = out["turns"]
    if action == 0 and turns and turns[-1].get("reply"):
        turns[-1]["reply"][0]["text"] += " (changed)"
    elif action == 1:
        out["result"] = "failed" if out["result"] == "passed" else "passed"
    elif action == 2 and turns:
        turns.append(dict(copy.deepcopy(turns[0]), turn=len(turns) + 1))
    elif action == 3 and len(turns) > 1:
        del turns[0]
    else:
        out["assistant"]["model"] = "gpt-4o-mini"
        turns.reverse()
    return out


def test_a_changed_reply_is_read_from_the_entries_that_differ(tmp_path: Path) -> None:
    data = transcript()
    changed = copy.deepcopy(data)
    changed["turns"][0]["reply"][0]["text"] = "Something else."
    found = _check(dump(changed), dump(data), tmp_path)
    assert found == changed


def test_entries_equal_to_the_golden_are_shared_and_the_rest_parsed(tmp_path: Path) -> None:
    data = transcript()
    data["turns"].append(dict(copy.deepcopy(data["turns"][0]), turn=2))
    changed = copy.deepcopy(data)
    changed["turns"][1]["reply"][0]["text"] = "Turn two says something else."
    golden_text = dump(data)
    old = quick_load(golden_text)
    assert old is not None
    found = quick_load_beside(dump(changed), golden_text, old)
    assert found == changed
    assert found["turns"][0] is old["turns"][0] and found["assistant"] is old["assistant"]
    assert found["turns"][1] is not old["turns"][1]


@pytest.mark.parametrize(
    ("label", "golden_edit", "new_edit"),
    [
        # A quoted scalar that runs over a line at column 0 that looks like a key or an item.
        (
            "quoted over a key line, golden",
            ("scenario: math-tutor/seed", 'scenario: "math-tutor/seed\nresult: failed"'),
            ("model: gpt-4o", "model: gpt-4o-mini"),
        ),
        ("quoted over a key line, new", None, ("result: passed", "result: 'passed\nerror: x'")),
        ("flow over an item line", None, ("result: passed", "result: [passed,\n- x]")),
        ("comment at column 0", None, ("result: passed", "# a note\nresult: failed")),
        ("document marker", None, ("result: passed", "---\nresult: failed")),
        ("duplicate key, one shared", None, ("result: passed", "result: passed\nresult: failed")),
        ("empty turns, then items", None, ("turns:\n", "turns: []\n")),
        ("tab at column 0", None, ("result: passed", "\tresult: failed")),
        ("alias to a shared anchor", ("result: passed", "result: &r passed"), ("api: assistants", "api: *r")),
        ("old format", None, ("transcript: 2", "transcript: 1")),
        ("not valid", None, ("result: passed", "result: maybe")),
        ("a turn twice", None, ("usage:", "DUP\nusage:")),
    ],
)
def test_doubts_are_left_to_the_plain_read(
    label: str, golden_edit: tuple[str, str] | None, new_edit: tuple[str, str], tmp_path: Path
) -> None:
    data = transcript()
    data["usage"] = {"total": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    golden = dump(data)
    if golden_edit is not None:
        assert golden_edit[0] in golden
        golden = golden.replace(*golden_edit, 1)
    assert new_edit[0] in golden
    new = golden.replace(*new_edit, 1)
    turn = golden[golden.index("\n- turn:") + 1 : golden.index("usage:")]
    new = new.replace("DUP", turn.rstrip("\n"))
    assert new != golden, label
    assert _check(new, golden, tmp_path) is None, label


def _damaged(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    where = rng.randrange(len(lines))
    action = rng.randrange(4)
    if action == 0:
        line = lines[where]
        at = rng.randrange(len(line) + 1)
        lines[where] = line[:at] + rng.choice("'\"[]{}#:&*!|>- \t") + line[at:]
    elif action == 1:
        lines.insert(
            where,
            rng.choice(
                [
                    "# note",
                    "---",
                    "turns: []",
                    "- x",
                    "result: failed",
                    "extra: 1",
                    "'q': 1",
                    '"open: x',
                    "  more: 'a",
                    "-",
                    "api:",
                    "",
                ]
            ),
        )
    elif action == 2 and where + 1 < len(lines):
        lines[where], lines[where + 1] = lines[where + 1], lines[where]
    else:
        del lines[where]
    return "\n".join(lines)


def test_beside_reads_as_alone_over_edited_and_damaged_files(tmp_path: Path) -> None:
    rng = random.Random(15)
    read = refused = 0
    for sample in _samples():
        golden = dump(sample)
        for _ in range(30):
            edited = dump(_edited(sample, rng))
            for new in (edited, _damaged(edited, rng), _damaged(_damaged(golden, rng), rng)):
                if new == golden:
                    continue
                if _check(new, golden, tmp_path) is None:
                    refused += 1
                else:
                    read += 1
            # A golden that is not as arun writes it, but still reads: beside it, the answer is still right.
            odd = _damaged(golden, rng)
            if quick_load(odd) is not None and odd != edited:
                _check(edited, odd, tmp_path)
    assert read > 150 and refused > 50  # both ways are really taken


def test_the_turns_are_checked_one_by_one_as_the_whole_is() -> None:
    check = item_check("transcript", "turns")
    assert check is not None
    rng = random.Random(4)
    cases = 0
    for sample in _samples():
        for _ in range(80):
            case = copy.deepcopy(sample)
            turn = rng.choice(case["turns"])
            key = rng.choice([*turn, "extra"])
            turn[key] = rng.choice([None, 0, "x", [], {}, {"status": "completed"}, turn.get(key)])
            apart = is_valid({**case, "turns": []}) and all(check(t) for t in case["turns"])
            assert apart == is_valid(case)
            cases += 1
    assert cases > 400


def _sets(tmp_path: Path, rng: random.Random) -> tuple[Path, Path]:
    golden, new = tmp_path / "golden", tmp_path / "new"
    for index in range(80):
        sample = rng.choice(_samples())
        sample["scenario"] = f"varied/s{index:03d}"
        write_transcript(golden / f"s{index:03d}.yaml", sample)
        if index % 7 == 0:
            write_transcript(new / f"s{index:03d}.yaml", sample)  # the same bytes
        elif index % 11 == 0:
            continue  # removed
        else:
            edited = _edited(sample, rng)
            if index % 5 == 0:
                edited["assistant"]["spec_hash"] = "sha256:" + "1" * 64
                edited.pop("usage", None)
            write_transcript(new / f"s{index:03d}.yaml", edited)
    write_transcript(new / "added.yaml", transcript("added"))
    return golden, new


@pytest.mark.parametrize(
    "options",
    [Options(), Options(text_similarity=0.8), Options(include=frozenset({"usage", "spec_hash", "api"}))],
)
def test_diff_prints_what_reading_every_file_whole_prints(
    options: Options, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    golden, new = _sets(tmp_path, random.Random(9))
    fast = compare_sets(golden, new, options, processes=2)
    monkeypatch.setattr(twoway, "MIN_ITEMS", 2)
    monkeypatch.setattr(twoway, "_idle_cpu", lambda cpus: True)
    forked = compare_sets(golden, new, options, processes=2)
    monkeypatch.setattr(io, "quick_load_beside", lambda *args: None)
    whole = compare_sets(golden, new, options)
    assert {s.status for s in whole.scenarios} == {"same", "changed", "added", "removed"}
    for result in (fast, forked):
        assert result == whole
        assert render_text(result, color=False) == render_text(whole, color=False)
        assert render_json(result) == render_json(whole)


def test_a_bad_file_in_the_forked_half_is_reported_as_by_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    golden, new = _sets(tmp_path, random.Random(2))
    for name in ("s077", "s078"):  # both in the second half, the child's: the first by name is reported
        path = new / f"{name}.yaml"
        path.write_text(
            path.read_text(encoding="utf-8").replace("result: ", "result: [", 1), encoding="utf-8"
        )
    monkeypatch.setattr(twoway, "MIN_ITEMS", 2)
    monkeypatch.setattr(twoway, "_idle_cpu", lambda cpus: True)
    with pytest.raises(TranscriptInvalid, match=r"s077\.yaml is not a valid transcript") as forked:
        compare_sets(golden, new, Options(), processes=2)
    with pytest.raises(TranscriptInvalid) as alone:
        compare_sets(golden, new, Options())
    assert str(forked.value) == str(alone.value)


def test_the_child_is_not_used_with_another_thread_running(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(twoway, "MIN_ITEMS", 2)
    monkeypatch.setattr(twoway, "_idle_cpu", lambda cpus: True)
    assert twoway.can_fork(10) == (hasattr(twoway.os, "fork") and twoway._cpus() >= 2)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not twoway.can_fork(10)
    finally:
        stop.set()
        thread.join()
    assert twoway.split(list(range(10)), lambda items: [i * 2 for i in items]) == [i * 2 for i in range(10)]


def test_compare_reads_pairs_through_read_pair() -> None:
    assert compare.read_pair is io.read_pair
