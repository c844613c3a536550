from __future__ import annotations

import pytest

from runner.errors import RunnerError
from runner.shard import Shard, everything, parse_shard

NAMES = [f"team-{i}/scenario-{j}" for i in range(10) for j in range(20)]


def test_every_scenario_lands_in_exactly_one_shard() -> None:
    shards = [Shard(i, 4) for i in range(1, 5)]
    for name in NAMES:
        assert sum(s.owns(name) for s in shards) == 1
    sizes = [sum(s.owns(n) for n in NAMES) for s in shards]
    assert min(sizes) > 25  # 200 names spread over 4 shards, none starved


def test_assignment_depends_on_the_name_only() -> None:
    before = {n for n in NAMES if Shard(2, 3).owns(n)}
    after = {n for n in [*NAMES, "new/one", "new/two"] if Shard(2, 3).owns(n)}
    assert before <= after
    assert Shard(1, 1).owns("anything") and everything("anything")


def test_parse() -> None:
    assert parse_shard("2/4") == Shard(2, 4)
    assert str(parse_shard(" 1/1 ")) == "1/1"
    for bad in ("0/4", "5/4", "1/0", "two/four", "1-4"):
        with pytest.raises(RunnerError, match=r"--shard"):
            parse_shard(bad)
