"""First apply and no-op apply of 100 assistants with files, on the local server: requests and wall time.

Prints figures side by side in one run; asserts nothing. Run: .venv/bin/python bench/apply.py
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.commands.apply import run_apply
from runner.commands.plan import ApiOptions
from runner.server.embedded import EmbeddedServer

ASSISTANTS = 100
KEY = "sk-bench-local-key"


def make_project(root: Path) -> None:
    (root / "assistants").mkdir(parents=True)
    (root / "docs").mkdir()
    for index in range(ASSISTANTS):
        key = f"bench-{index:03d}"
        doc = root / "docs" / f"{key}.md"
        doc.write_text(f"# Notes {index}\n" + f"Paragraph {index} about lighthouses and tides.\n" * 40)
        data = root / "docs" / f"{key}.csv"
        data.write_text("n,square\n" + "".join(f"{n},{n * n}\n" for n in range(50)))
        (root / "assistants" / f"{key}.yaml").write_text(
            f"model: gpt-4o\nname: Bench {index}\ninstructions: Answer from the notes.\n"
            "tools: [{type: file_search}, {type: code_interpreter}]\n"
            f"files:\n  file_search: [docs/{key}.md]\n  code_interpreter: [docs/{key}.csv]\n"
        )


def measure(root: Path, server: EmbeddedServer, log: Path) -> tuple[float, Counter[str], int]:
    before = len(log.read_text().splitlines())
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        run_apply(root, ApiOptions(server.base_url, KEY), yes=True)
    seconds = time.perf_counter() - start
    lines = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    return seconds, Counter(line["method"] for line in lines), len(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        make_project(root)
        log = Path(tmp) / "access.jsonl"
        with (
            log.open("a") as handle,
            EmbeddedServer(Path(tmp) / "bench.db", KEY, access_log=handle) as server,
        ):
            first = measure(root, server, log)
            noop = measure(root, server, log)
    print(f"{ASSISTANTS} assistants, each with one file_search file and one code_interpreter file")
    for label, (seconds, methods, total) in (("first apply", first), ("no-op apply", noop)):
        writes = total - methods["GET"]
        print(f"{label:12s} {seconds:6.2f} s  {total:4d} requests ({methods['GET']} reads, {writes} writes)")


if __name__ == "__main__":
    main()
