"""Small shared rules: ids, clocks, list pages, metadata."""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from runner.server.exceptions import InvalidValue

_ALNUM = string.ascii_letters + string.digits
# Shapes as the real API makes them (see the recordings): prefix, alphabet, length of the random part.
_ID_SHAPES = {
    "asst": ("asst_", _ALNUM, 24),
    "thread": ("thread_", _ALNUM, 24),
    "msg": ("msg_", _ALNUM, 24),
    "run": ("run_", _ALNUM, 24),
    "step": ("step_", _ALNUM, 24),
    "call": ("call_", _ALNUM, 24),
    "file": ("file-", _ALNUM, 22),
    "vs": ("vs_", "0123456789abcdef", 32),
    "vsfb": ("vsfb_", "0123456789abcdef", 32),
    # the Responses and Conversations APIs: hex ids, as the recordings show
    "resp": ("resp_", "0123456789abcdef", 50),
    "conv": ("conv_", "0123456789abcdef", 48),
    "item_msg": ("msg_", "0123456789abcdef", 50),
    "fc": ("fc_", "0123456789abcdef", 50),
    "fs": ("fs_", "0123456789abcdef", 50),
    "ci": ("ci_", "0123456789abcdef", 48),
    "cntr": ("cntr_", "0123456789abcdef", 48),
    "chatcmpl": ("chatcmpl-", _ALNUM, 29),
}


def _byte_table(alphabet: str) -> tuple[bytes, bytes]:
    """What `bytes.translate` needs to turn random bytes into the alphabet's characters: each byte below the
    last whole multiple of the alphabet's size maps to a character, the bytes past it are deleted, so every
    character is as likely as any other."""
    size = len(alphabet)
    usable = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) if b < usable else 0 for b in range(256))
    return table, bytes(range(usable, 256))


_TABLES = {alphabet: _byte_table(alphabet) for _, alphabet, _ in _ID_SHAPES.values()}


def new_id(kind: str) -> str:
    prefix, alphabet, length = _ID_SHAPES[kind]
    # One read of the system's random source per id (not one per character: a run makes several ids),
    # mapped onto the alphabet in one `translate`.
    table, unusable = _TABLES[alphabet]
    chars = b""
    while len(chars) < length:
        chars += secrets.token_bytes(2 * length).translate(table, unusable)
    return prefix + chars[:length].decode("ascii")


def now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Page:
    limit: int = 20
    order: str = "desc"
    after: str | None = None
    before: str | None = None


def list_object(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def check_metadata(metadata: dict[str, Any] | None, param: str = "metadata") -> dict[str, Any]:
    # The spec's schema says "map of strings"; the documented limits it leaves out are enforced here.
    metadata = metadata or {}
    if len(metadata) > 16:
        raise InvalidValue(
            f"Invalid '{param}': too many properties. Expected an object with at most 16 properties, "
            f"but got an object with {len(metadata)} properties instead.",
            param,
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise InvalidValue(f"Invalid '{param}': key '{key[:20]}...' is longer than 64 characters.", param)
        if isinstance(value, str) and len(value) > 512:
            raise InvalidValue(
                f"Invalid '{param}.{key}': string too long. Expected a string with maximum length 512, "
                f"but got a string with length {len(value)} instead.",
                f"{param}.{key}",
            )
    return dict(metadata)
