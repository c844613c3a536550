from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import RunnerError
from runner.shard import Shard
from runner.transcript.golden import in_ci, update_goldens
from runner.transcript.io import dump, write_transcript

from .factory import transcript

ALL = ("a/one", "a/two", "b")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    new, golden = tmp_path / "new", tmp_path / "golden"
    for name in ALL:
        write_transcript(new / f"{name}.yaml", transcript(name))
    write_transcript(golden / "a/one.yaml", transcript("a/one"))
    write_transcript(golden / "a/two.yaml", transcript("a/two", reply="old reply"))
    write_transcript(golden / "gone/away.yaml", transcript("gone/away"))
    return new, golden


def names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_whole_set_writes_changes_and_removes_orphans(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    result = update_goldens(new, golden, names=ALL, known=set(ALL), environ={})
    assert (result.written, result.unchanged, result.removed) == (("a/two", "b"), ("a/one",), ("gone/away",))
    assert result.summary() == "golden transcripts: 2 written, 1 removed, 1 unchanged"
    assert names(golden) == ["a/one.yaml", "a/two.yaml", "b.yaml"]
    assert (golden / "a/two.yaml").read_text() == dump(transcript("a/two"))
    assert not (golden / "gone").exists()


def test_a_selection_updates_exactly_its_own_goldens(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    before = {n: (golden / n).read_bytes() for n in names(golden)}
    result = update_goldens(new, golden, names=["b"], environ={})
    assert (result.written, result.unchanged, result.removed) == (("b",), (), ())
    assert result.summary() == "golden transcripts: 1 written, 0 removed, 0 unchanged"
    assert {n: (golden / n).read_bytes() for n in before} == before  # a/two's old reply, gone/away: kept
    assert names(golden) == ["a/one.yaml", "a/two.yaml", "b.yaml", "gone/away.yaml"]


def test_an_interrupted_transcript_is_never_promoted(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    write_transcript(new / "a/two.yaml", transcript("a/two", reply="half", result="interrupted"))
    before = (golden / "a/two.yaml").read_bytes()
    result = update_goldens(new, golden, names=ALL, known=set(ALL), environ={})
    assert result.written == ("b",) and result.not_promoted == ("a/two",)
    assert result.summary() == (
        "golden transcripts: 1 written, 1 removed, 1 unchanged; 1 not promoted (interrupted): a/two"
    )
    assert (golden / "a/two.yaml").read_bytes() == before
    # A selected scenario that wrote no transcript at all (it never started) keeps its golden too.
    (new / "a/one.yaml").unlink()
    assert update_goldens(new, golden, names=["a/one"], environ={}).not_promoted == ("a/one",)
    assert (golden / "a/one.yaml").is_file()


def test_refuses_in_ci_unless_forced(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    with pytest.raises(RunnerError, match="refusing to update golden transcripts in CI"):
        update_goldens(new, golden, names=ALL, known=set(ALL), environ={"CI": "true"})
    assert (golden / "gone/away.yaml").exists()
    forced = update_goldens(new, golden, names=ALL, known=set(ALL), environ={"CI": "true"}, force=True)
    assert forced.removed == ("gone/away",)
    assert in_ci({"CI": "1"}) and not in_ci({"CI": "false"}) and not in_ci({})


def test_a_shard_touches_only_its_own_scenarios(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    shards = [Shard(i, 3) for i in (1, 2, 3)]
    before = {n: (golden / n).read_bytes() for n in names(golden)}
    owner = next(s for s in shards if s.owns("gone/away"))
    others = [s for s in shards if s is not owner]
    for shard in others:
        mine = [n for n in ALL if shard.owns(n)]
        update_goldens(new, golden, names=mine, known=set(ALL), owns=shard.owns, environ={})
    assert (golden / "gone/away.yaml").read_bytes() == before["gone/away.yaml"]
    mine = [n for n in ALL if owner.owns(n)]
    update_goldens(new, golden, names=mine, known=set(ALL), owns=owner.owns, environ={})
    assert names(golden) == ["a/one.yaml", "a/two.yaml", "b.yaml"]
