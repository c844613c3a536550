from __future__ import annotations

import threading
from pathlib import Path

from runner.api.session import LANE_THREADS, Api
from runner.server.embedded import EmbeddedServer

KEY = "test-key-lanes"


def test_spread_threads_share_a_few_clients_each_keeping_its_own(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "lanes.db", KEY) as server:
        api = Api(None, server.base_url, api_key=KEY)
        api.spread(2 * LANE_THREADS + 1)  # three lanes
        seen: dict[int, list[int]] = {}
        names: list[str] = []
        lock = threading.Lock()

        def work(index: int) -> None:
            first = api.client
            created = api.call(
                "create an assistant", first.beta.assistants.create, model="gpt-4o", name=f"a{index}"
            )
            with lock:
                seen[index] = [id(first), id(api.client)]
                names.append(created.name or "")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(a == b for a, b in seen.values())  # a thread keeps its lane
        assert len({a for a, _ in seen.values()}) == 3
        assert sorted(names) == [f"a{i}" for i in range(9)]
        assert api.counter.requests == 9
        lanes = list(api._lanes)
        api.close()
        assert all(lane.is_closed() for lane in lanes)


def test_without_spread_every_thread_shares_one_client(tmp_path: Path) -> None:
    api = Api(None, "http://127.0.0.1:9/v1", api_key=KEY)
    clients = []
    threads = [threading.Thread(target=lambda: clients.append(api.client)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in clients}) == 1
    api.close()
