"""Deterministic sharding for CI matrices: a scenario's shard depends on its name only."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from runner.errors import RunnerError

_SPEC = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as people write it: --shard 1/4 ... 4/4
    total: int

    def owns(self, name: str) -> bool:
        # A hash, not a position in a sorted list: adding or removing a scenario moves no other scenario,
        # and a golden whose scenario was deleted still belongs to exactly one shard (which reports it).
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.total == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> Shard:
    match = _SPEC.match(text.strip())
    if not match:
        raise RunnerError(f"--shard {text!r}: write it as I/N, for example 2/4")
    index, total = int(match[1]), int(match[2])
    if total < 1 or not 1 <= index <= total:
        raise RunnerError(f"--shard {text!r}: I must be between 1 and N, and N at least 1")
    return Shard(index, total)


def everything(name: str) -> bool:
    return True


Owner = Callable[[str], bool]
