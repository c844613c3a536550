"""Replay the requests of real recorded sessions against the server and compare the answers' shapes.

Ids in later requests are mapped to the ids this server returned for the same objects; multipart upload
bodies, which the recordings lack, are replaced by small files named as in the recorded answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Contract
from recordings_support import (
    assert_listing,
    is_listing,
    learn,
    path_of,
    recorded_entries,
    recording_client,
    send,
    shape,
)

from runner.server.embedded import EmbeddedServer


def _replay(name: str, server: EmbeddedServer, contract: Contract) -> int:
    """Replays the recording up to its first run request (runs are part 2); returns the requests made."""
    entries = recorded_entries(name)
    ids: dict[str, str] = {}
    replayed = 0
    with recording_client(server, contract.sync_hook) as http:
        for n, entry in enumerate(entries):
            path = path_of(entry, ids)
            if "/runs" in path:
                break
            recorded = entry["ResponseBody"]
            response = send(http, entry, ids, upload=_upload)
            where = f"{name} entry {n}: {entry['RequestMethod']} {path}"
            assert response.status_code == entry["StatusCode"], where
            actual = response.json()
            if is_listing(recorded):
                # A listing of objects that this replay made must come back in the recorded order too.
                assert_listing(actual, recorded, ids, where, whole=True)
            else:
                assert shape(actual) == shape(recorded), where
            learn(recorded, actual, ids)
            replayed += 1
    contract.assert_clean()
    return replayed


def _upload(entry: dict[str, Any]) -> tuple[str, bytes]:
    filename = entry["ResponseBody"]["filename"]
    return filename, f"content of {filename}\n".encode()


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
