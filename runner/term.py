"""Terminal conventions: colour only on a TTY and never with NO_COLOR."""

from __future__ import annotations

import os
from typing import TextIO


def color_enabled(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):  # no-color.org: set and not empty
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
