"""The rows of the performance table (README, "Performance"), one per goal.

Each benchmark script under bench/ that measures a goal of the table exposes
`rows() -> list[Row]`, measured side by side in one run against its yardstick; `bench/all.py` runs them
one after another and prints the table. A script run on its own prints its own detail as well.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    what: str  # the measurement, as the table words it
    goal: str  # e.g. "<= 1.15x one scenario alone"
    measured: str  # the figure(s), with the yardstick beside them
    met: bool | None  # None when the row has no pass/fail goal (context only)


def markdown(rows: list[Row]) -> str:
    lines = ["| what | goal | measured | met |", "|---|---|---|---|"]
    for row in rows:
        met = "n/a" if row.met is None else ("yes" if row.met else "no")
        lines.append(f"| {row.what} | {row.goal} | {row.measured} | {met} |")
    return "\n".join(lines) + "\n"
