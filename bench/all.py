"""Every row of the performance table, measured one benchmark after another in this run, printed as the
Markdown table the README shows (README, "Performance"). Each row is measured side by side with its own
yardstick inside its benchmark; nothing is asserted. Run: .venv/bin/python bench/all.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.table import Row, markdown  # noqa: E402

# In the order of the table: replay, server, diff, start-up, apply, memory.
BENCHMARKS = ("replay", "server", "diff", "startup", "apply", "memory")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these benchmarks")
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        start = time.perf_counter()
        print(f"bench/{name}.py ...", file=sys.stderr, flush=True)
        rows += module.rows()
        print(f"bench/{name}.py: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    print(f"Python {platform.python_version()}, {cores} cores, load average {load:.1f} at the end:\n")
    print(markdown(rows), end="")


if __name__ == "__main__":
    main()
