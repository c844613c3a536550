"""When OpenAI shuts models down: a table kept in the package (retirements.csv), never fetched.

Each row names the model id, its shutdown date, OpenAI's recommended replacement (empty where the
source gives none that we recorded) and the source. Update it by hand from OpenAI's deprecations page
(https://platform.openai.com/docs/deprecations) and say so in the commit.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("retirements.csv")
WARN_DAYS = 90


@dataclass(frozen=True)
class Retirement:
    model: str
    shutdown: dt.date
    replacement: str
    source: str


@cache
def retirements() -> dict[str, Retirement]:
    with TABLE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["model"]: Retirement(
            row["model"], dt.date.fromisoformat(row["shutdown"]), row["replacement"], row["source"]
        )
        for row in rows
    }


def retirement_of(model: str, today: dt.date) -> tuple[str, str] | None:
    """("error" | "warning", message) for a model shut down by `today` or within WARN_DAYS of it."""
    found = retirements().get(model)
    if found is None:
        return None
    days = (found.shutdown - today).days
    instead = f"use {found.replacement} instead" if found.replacement else "pick a current model"
    if days <= 0:
        return "error", (
            f"model {model!r} was shut down on {found.shutdown.isoformat()}: requests to it fail; "
            f"{instead} (source: {found.source})"
        )
    if days <= WARN_DAYS:
        return "warning", (
            f"model {model!r} shuts down on {found.shutdown.isoformat()}, in {days} day{'s' if days != 1 else ''}; "
            f"{instead} (source: {found.source})"
        )
    return None
