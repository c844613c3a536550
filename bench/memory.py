"""Peak memory of `arun replay` (issue 15: 1,000 scenarios at -j 200 under 150 MB, 10,000 linear): the
whole command's peak RSS, embedded server included, for 1 scenario (the yardstick: what importing arun, the
SDK and the server costs before any scenario), 1,000 and 3,000 (or --memory 1000,10000), measured by
bench/replay_scale.py in one run, with --before DIR side by side. Prints figures; asserts nothing.
Run: .venv/bin/python bench/memory.py [--memory 1000,10000] [--before DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import replay_scale
from bench.table import Row


def rows() -> list[Row]:
    return replay_scale.rows("memory")


def main() -> None:
    args = replay_scale.parse([*sys.argv[1:], "--parts", "memory"])
    for row in replay_scale.summarise(replay_scale.measure(args), args):
        print(f"| {row.what} | {row.goal} | {row.measured} | {'yes' if row.met else 'no'} |")


if __name__ == "__main__":
    main()
