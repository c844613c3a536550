from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from runner.server.validation import subset
from tests.shared import shared_path

ROOT = Path(__file__).resolve().parents[2]


def test_subset_records_its_source() -> None:
    source = subset()["x-source"]
    assert source["commit"] == "f85dbe223d40e1a31cba812ab2d755c7e98a92a3"
    assert source["repository"] == "openai/openai-openapi"
    text = json.dumps(subset())
    assert '"nullable"' not in text and "$recursiveRef" not in text


def test_committed_subset_is_what_the_script_generates(tmp_path: Path) -> None:
    spec = shared_path("openapi", "openai-openapi.yaml")
    script = ROOT / "scripts" / "gen_openapi_subset.py"
    loaded = importlib.util.spec_from_file_location("gen_openapi_subset", script)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    sys.modules["gen_openapi_subset"] = module
    loaded.loader.exec_module(module)
    out = tmp_path / "subset.json"
    assert module.main([str(spec), str(out)]) == 0
    committed = ROOT / "runner" / "server" / "openapi_subset.json"
    if out.read_text(encoding="utf-8") != committed.read_text(encoding="utf-8"):
        pytest.fail("runner/server/openapi_subset.json is stale: run python scripts/gen_openapi_subset.py")
