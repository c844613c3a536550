from __future__ import annotations

from runner.server.models.filters import matches


def test_attribute_filters() -> None:
    attrs = {"lang": "en", "year": 2024, "draft": False}
    assert matches({"type": "eq", "key": "lang", "value": "en"}, attrs)
    assert matches({"type": "ne", "key": "lang", "value": "ko"}, attrs)
    assert matches({"type": "gte", "key": "year", "value": 2024}, attrs)
    assert not matches({"type": "lt", "key": "year", "value": 2024}, attrs)
    assert matches({"type": "lte", "key": "year", "value": 2024}, attrs)
    assert matches({"type": "in", "key": "lang", "value": ["en", "ko"]}, attrs)
    assert matches({"type": "nin", "key": "lang", "value": ["ko"]}, attrs)
    assert not matches({"type": "in", "key": "lang", "value": "en"}, attrs)
    assert matches({"type": "nin", "key": "lang", "value": "en"}, attrs)
    assert not matches({"type": "gt", "key": "lang", "value": 3}, attrs)
    assert not matches({"type": "eq", "key": "missing", "value": 1}, attrs)
    assert matches({"type": "ne", "key": "missing", "value": 1}, attrs)
    both = {
        "type": "and",
        "filters": [
            {"type": "eq", "key": "draft", "value": False},
            {"type": "gt", "key": "year", "value": 2000},
        ],
    }
    assert matches(both, attrs)
    assert not matches({"type": "or", "filters": [{"type": "eq", "key": "lang", "value": "ko"}]}, attrs)
