"""What the replays of real recorded sessions (../shared/recordings) share: reading a recording, mapping its
ids to the ones this server made, sending its requests, and the shapes compared.

A recording's requests name the real API's ids; each answer teaches the replay which of our ids stands for
which recorded one (`learn`), and later requests are rewritten with them (`mapped`). The tests differ in
what they compare and in how they stand in for what the recording lacks (upload bodies, the real model's
choice of tool): `send` takes those as arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openai
from conftest import API_KEY

from runner.server.embedded import EmbeddedServer
from tests.shared import shared_path

PREFIX = "https://api.openai.com/v1"
ID = re.compile(r"^(asst_|thread_|msg_|run_|step_|file-|vs_|vsfb_)[A-Za-z0-9]+$")


def recorded_entries(*parts: str) -> list[dict[str, Any]]:
    """The entries of the recording at ../shared/recordings/<parts> (or a skip that says it is absent)."""
    entries: list[dict[str, Any]] = json.loads(shared_path("recordings", *parts).read_text(encoding="utf-8"))[
        "Entries"
    ]
    return entries


@contextmanager
def recording_client(
    server: EmbeddedServer, hook: Callable[[Any], None], *, assistants: bool = True, timeout: float = 30
) -> Iterator[openai.DefaultHttpx2Client]:
    """A raw HTTP client on the server whose every answer goes through the contract's `hook`."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if assistants:  # every recorded Assistants request sends the beta header those routes need
        headers["OpenAI-Beta"] = "assistants=v2"
    http = openai.DefaultHttpx2Client(
        base_url=server.base_url,
        headers=headers,
        event_hooks={"response": [hook]},
        trust_env=False,
        timeout=timeout,
    )
    with http:
        yield http


def learn(recorded: Any, actual: Any, ids: dict[str, str], pattern: re.Pattern[str] = ID) -> None:
    """Map each recorded id (matching `pattern`) to the id our server returned in the same place."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key in recorded.keys() & actual.keys():
            learn(recorded[key], actual[key], ids, pattern)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for r, a in zip(recorded, actual, strict=False):
            learn(r, a, ids, pattern)
    elif (
        isinstance(recorded, str)
        and isinstance(actual, str)
        and pattern.match(recorded)
        and recorded not in ids
    ):
        ids[recorded] = actual


def mapped(text: str, ids: dict[str, str]) -> str:
    for recorded, actual in ids.items():
        text = text.replace(recorded, actual)
    return text


def path_of(entry: dict[str, Any], ids: dict[str, str]) -> str:
    """The entry's request path below /v1, with the ids learnt so far."""
    return mapped(entry["RequestUri"].removeprefix(PREFIX), ids)


def send(
    http: openai.DefaultHttpx2Client,
    entry: dict[str, Any],
    ids: dict[str, str],
    *,
    upload: Callable[[dict[str, Any]], tuple[str, bytes]],
    prepare: Callable[[str, dict[str, Any], Any], None] = lambda path, body, recorded: None,
) -> Any:
    """Send the entry's request: an upload made by `upload(entry)`, or its JSON body with the ids mapped
    and then changed in place by `prepare(path, body, recorded answer)`, or no body."""
    method, path = entry["RequestMethod"], path_of(entry, ids)
    if method == "POST" and path == "/files":
        return http.post(
            path, files={"file": upload(entry)}, data={"purpose": entry["ResponseBody"]["purpose"]}
        )
    if entry["RequestBody"] is not None:
        body = json.loads(mapped(json.dumps(entry["RequestBody"]), ids))
        prepare(path, body, entry["ResponseBody"])
        return http.request(method, path, json=body)
    return http.request(method, path)


def shape(body: Any) -> Any:
    if not isinstance(body, dict):
        return type(body).__name__
    items = body.get("data") if isinstance(body.get("data"), list) else []
    return (
        body.get("object"),
        sorted(body),
        [(i.get("object"), sorted(i)) for i in items if isinstance(i, dict)],
    )


def is_listing(recorded: Any) -> bool:
    return isinstance(recorded, dict) and isinstance(recorded.get("data"), list)


def assert_listing(actual: Any, recorded: Any, ids: dict[str, str], where: str, *, whole: bool) -> None:
    """A list page against the recorded one. When the replay made every object the recording lists, the
    page must list ours in the recorded order (and, if `whole`, with every item's shape); otherwise the
    recorded account held other objects too, and the list's own shape and its first item's are compared."""
    recorded_ids = [i.get("id") for i in recorded["data"]]
    if recorded_ids and all(i in ids for i in recorded_ids):
        assert [i["id"] for i in actual["data"]] == [ids[i] for i in recorded_ids], where
        assert actual["has_more"] == recorded["has_more"], where
        if whole:
            assert shape(actual) == shape(recorded), where
            return
    assert shape(actual)[:2] == shape(recorded)[:2], where
    assert shape(actual)[2][:1] == shape(recorded)[2][:1], where


def events(body: list[str] | str) -> list[tuple[str, Any]]:
    """A server-sent event stream's (event name, data) pairs; `[DONE]` is kept as the string."""
    raw = "".join(body) if isinstance(body, list) else body
    out = []
    for frame in raw.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.strip().split("\n") if ": " in line)
        if "event" in fields:
            data = fields["data"]
            out.append((fields["event"], data if data == "[DONE]" else json.loads(data)))
    return out


def stream_shape(stream: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The events' names with their data's keys, each run of the same delta event collapsed to one: the
    number of deltas is not part of the contract."""
    out: list[tuple[str, Any]] = []
    for name, data in stream:
        if name.endswith(".delta") and out and out[-1][0] == name:
            continue
        out.append((name, sorted(data) if isinstance(data, dict) else data))
    return out
