"""An apply cut off at any step, or racing another apply, leaves nothing the next apply cannot fix."""

from __future__ import annotations

import threading
from pathlib import Path

import openai
import pytest

from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions
from runner.server.embedded import EmbeddedServer

from ..applying import Killed, cut_after, cut_at_every_write
from .conftest import TEST_KEY


def inventory(client: openai.OpenAI) -> dict[str, list[str]]:
    return {
        "assistants": sorted(a.metadata.get("arun_key", "?") for a in client.beta.assistants.list(limit=100)),
        "vector_stores": sorted(
            v.metadata.get("arun_key", "?") for v in client.vector_stores.list(limit=100)
        ),
        "files": sorted(f.filename.split("~")[3] for f in client.files.list()),
        "store_files": sorted(
            f.attributes["arun_path"].rsplit("/", 1)[1]
            for v in client.vector_stores.list(limit=100)
            for f in client.vector_stores.files.list(v.id)
        ),
    }


CONVERGED = {
    "assistants": ["math-tutor", "novel-guide", "travel-helper"],
    "vector_stores": ["novel-guide"],
    "files": ["01-the-keeper.md", "02-the-storm.md", "03-the-letter.md"],
    "store_files": ["01-the-keeper.md", "02-the-storm.md", "03-the-letter.md"],
}


def writes_of_a_full_apply(project: Path, tmp_path: Path) -> list[str]:
    with EmbeddedServer(tmp_path / "count.db", TEST_KEY) as server:
        seen, hook = cut_after(10_000)
        run_apply(project, ApiOptions(server.base_url, TEST_KEY), yes=True, hook=hook)
    return seen


def test_first_apply_cut_off_at_every_step_then_converges(project: Path, tmp_path: Path) -> None:
    steps = writes_of_a_full_apply(project, tmp_path)
    assert len(steps) == 8
    for limit in range(len(steps)):
        with EmbeddedServer(tmp_path / f"cut{limit}.db", TEST_KEY) as server:
            options = ApiOptions(server.base_url, TEST_KEY)
            with pytest.raises(Killed):
                run_apply(project, options, yes=True, hook=cut_after(limit)[1])
            assert run_apply(project, options, yes=True) == 0
            client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
            assert inventory(client) == CONVERGED, f"after a cut before step {limit + 1}: {steps[limit]}"
            client.close()


def test_file_replacement_cut_off_at_every_step_then_converges(project: Path, tmp_path: Path) -> None:
    chapter = project / "corpus/harbor-light/02-the-storm.md"
    original = chapter.read_text()

    def applied_then_changed(options: ApiOptions) -> None:
        chapter.write_text(original)
        run_apply(project, options, yes=True)
        chapter.write_text(original + "\nMore rain.\n")

    def converged(server: EmbeddedServer, cuts: int) -> None:
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        assert inventory(client) == CONVERGED, f"after a cut at step {cuts + 1}"
        client.close()

    # upload, attach, detach old, update assistant, delete old file
    assert cut_at_every_write(project, tmp_path, TEST_KEY, converged, before=applied_then_changed) == 5


def test_two_applies_at_once_end_with_one_object_per_key(project: Path, tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "race.db", TEST_KEY) as server:
        options = ApiOptions(server.base_url, TEST_KEY)
        both_planned = threading.Barrier(2, timeout=30)
        first_write: set[int] = set()
        lock = threading.Lock()

        def hook(what: str) -> None:
            me = threading.get_ident()
            with lock:
                waiting = me not in first_write
                first_write.add(me)
            if waiting:
                both_planned.wait()  # both applies have planned "create" before either writes

        errors: list[BaseException] = []

        def apply_once() -> None:
            try:
                run_apply(project, options, yes=True, hook=hook)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=apply_once) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert run_apply(project, options, yes=True) == 0
        client = openai.OpenAI(base_url=server.base_url, api_key=TEST_KEY, max_retries=0)
        assert inventory(client) == CONVERGED
        client.close()
