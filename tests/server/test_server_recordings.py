"""Replay the requests of real recorded sessions against the server and compare the answers' shapes.

Ids in later requests are mapped to the ids this server returned for the same objects; multipart upload
bodies, which the recordings lack, are replaced by small files named as in the recorded answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

import openai
import pytest
from conftest import API_KEY, Contract

from runner.server.embedded import EmbeddedServer
from tests.shared import shared_path

ID = re.compile(r"^(asst_|thread_|msg_|run_|step_|file-|vs_|vsfb_)[A-Za-z0-9]+$")
PREFIX = "https://api.openai.com/v1"


def _learn(recorded: Any, actual: Any, ids: dict[str, str], pattern: re.Pattern[str] = ID) -> None:
    """Map each recorded id (matching `pattern`) to the id our server returned in the same place."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key in recorded.keys() & actual.keys():
            _learn(recorded[key], actual[key], ids, pattern)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for r, a in zip(recorded, actual, strict=False):
            _learn(r, a, ids, pattern)
    elif (
        isinstance(recorded, str)
        and isinstance(actual, str)
        and pattern.match(recorded)
        and recorded not in ids
    ):
        ids[recorded] = actual


def _map(text: str, ids: dict[str, str]) -> str:
    for recorded, actual in ids.items():
        text = text.replace(recorded, actual)
    return text


def _shape(body: Any) -> Any:
    if not isinstance(body, dict):
        return type(body).__name__
    items = body.get("data") if isinstance(body.get("data"), list) else []
    return (
        body.get("object"),
        sorted(body),
        [(i.get("object"), sorted(i)) for i in items if isinstance(i, dict)],
    )


def _replay(name: str, server: EmbeddedServer, contract: Contract) -> int:
    """Replays the recording up to its first run request (runs are part 2); returns the requests made."""
    entries = json.loads(shared_path("recordings", name).read_text(encoding="utf-8"))["Entries"]
    http = openai.DefaultHttpx2Client(
        base_url=server.base_url,
        # Every recorded request sends the beta header the Assistants routes need.
        headers={"Authorization": f"Bearer {API_KEY}", "OpenAI-Beta": "assistants=v2"},
        event_hooks={"response": [contract.sync_hook]},
        trust_env=False,
    )
    ids: dict[str, str] = {}
    replayed = 0
    with http:
        for n, entry in enumerate(entries):
            path = _map(entry["RequestUri"].removeprefix(PREFIX), ids)
            if "/runs" in path:
                break
            recorded = entry["ResponseBody"]
            if entry["RequestMethod"] == "POST" and path == "/files":
                upload = (recorded["filename"], f"content of {recorded['filename']}\n".encode())
                response = http.post(path, files={"file": upload}, data={"purpose": recorded["purpose"]})
            elif entry["RequestBody"] is not None:
                body = json.loads(_map(json.dumps(entry["RequestBody"]), ids))
                response = http.request(entry["RequestMethod"], path, json=body)
            else:
                response = http.request(entry["RequestMethod"], path)
            where = f"{name} entry {n}: {entry['RequestMethod']} {path}"
            assert response.status_code == entry["StatusCode"], where
            actual = response.json()
            # A listing of objects that this replay made must come back in the recorded order too.
            if isinstance(recorded, dict) and isinstance(recorded.get("data"), list):
                recorded_ids = [i.get("id") for i in recorded["data"]]
                if recorded_ids and all(i in ids for i in recorded_ids):
                    assert [i["id"] for i in actual["data"]] == [ids[i] for i in recorded_ids], where
                    assert actual["has_more"] == recorded["has_more"], where
                    recorded_shape, actual_shape = _shape(recorded), _shape(actual)
                else:
                    # The recorded account held other objects too: compare the first item's shape only.
                    recorded_shape, actual_shape = _shape(recorded)[:2], _shape(actual)[:2]
                    assert _shape(actual)[2][:1] == _shape(recorded)[2][:1], where
            else:
                recorded_shape, actual_shape = _shape(recorded), _shape(actual)
            assert actual_shape == recorded_shape, where
            _learn(recorded, actual, ids)
            replayed += 1
    contract.assert_clean()
    return replayed


@pytest.mark.parametrize(
    ("name", "requests"),
    [
        # The two sessions the issue names, replayed whole.
        ("BasicAssistantOperationsWork.json", 7),
        ("CanPaginateGetVectorStoreFilesInBatch.json", 20),
        # The others up to their first run: uploads, assistants with inline vector stores, threads.
        ("BasicRunStepFunctionalityWorks.json", 3),
        ("FileSearchStreamingWorks.json", 3),
        ("FileSearchWorks.json", 5),
        ("FunctionToolsWork.json", 1),
        ("StreamingToolCall().json", 1),
    ],
)
def test_recorded_session_replays_with_the_same_shapes(
    name: str, requests: int, server: EmbeddedServer, contract: Contract
) -> None:
    assert _replay(name, server, contract) == requests
