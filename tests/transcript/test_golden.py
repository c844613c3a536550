from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import RunnerError
from runner.shard import Shard
from runner.transcript.golden import in_ci, update_goldens
from runner.transcript.io import dump, write_transcript

from .factory import transcript


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    new, golden = tmp_path / "new", tmp_path / "golden"
    for name in ("a/one", "a/two", "b"):
        write_transcript(new / f"{name}.yaml", transcript(name))
    write_transcript(golden / "a/one.yaml", transcript("a/one"))
    write_transcript(golden / "a/two.yaml", transcript("a/two", reply="old reply"))
    write_transcript(golden / "gone/away.yaml", transcript("gone/away"))
    return new, golden


def names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_update_writes_changes_and_removes_orphans(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    result = update_goldens(new, golden, environ={})
    assert (result.written, result.unchanged, result.removed) == (("a/two", "b"), ("a/one",), ("gone/away",))
    assert result.summary() == "golden transcripts: 2 written, 1 removed, 1 unchanged"
    assert names(golden) == ["a/one.yaml", "a/two.yaml", "b.yaml"]
    assert (golden / "a/two.yaml").read_text() == dump(transcript("a/two"))
    assert not (golden / "gone").exists()


def test_refuses_in_ci_unless_forced(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    with pytest.raises(RunnerError, match="refusing to update golden transcripts in CI"):
        update_goldens(new, golden, environ={"CI": "true"})
    assert (golden / "gone/away.yaml").exists()
    assert update_goldens(new, golden, environ={"CI": "true"}, force=True).removed == ("gone/away",)
    assert in_ci({"CI": "1"}) and not in_ci({"CI": "false"}) and not in_ci({})


def test_a_shard_touches_only_its_own_scenarios(folders: tuple[Path, Path]) -> None:
    new, golden = folders
    shards = [Shard(i, 3) for i in (1, 2, 3)]
    before = {n: (golden / n).read_bytes() for n in names(golden)}
    owner = next(s for s in shards if s.owns("gone/away"))
    others = [s for s in shards if s is not owner]
    for shard in others:
        update_goldens(new, golden, owns=shard.owns, environ={})
    assert (golden / "gone/away.yaml").read_bytes() == before["gone/away.yaml"]
    update_goldens(new, golden, owns=owner.owns, environ={})
    assert names(golden) == ["a/one.yaml", "a/two.yaml", "b.yaml"]
