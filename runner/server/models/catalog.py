"""The models the local server answers for (GET /models): every model the spec lets an assistant name.

The simulator answers as any model (the name is accepted and ignored), so `retrieve` answers for any id;
the list shows the spec's `AssistantSupportedModels`, the names a client is likely to look for.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from runner.server.exceptions import InvalidValue
from runner.server.validation import subset

# A fixed date, so that answers are the same from one server to the next (the spec's own example's date).
CREATED = 1686935002
OWNER = "system"  # what the real API says for OpenAI's own models
MAX_ID_LENGTH = 256


@cache
def model_ids() -> tuple[str, ...]:
    enum = subset()["components"]["schemas"]["AssistantSupportedModels"]["enum"]
    return tuple(str(name) for name in enum)


def model_object(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": OWNER}


def list_models() -> dict[str, Any]:
    # The real page has only object and data: no cursors, no has_more.
    return {"object": "list", "data": [model_object(m) for m in model_ids()]}


def retrieve_model(model_id: str) -> dict[str, Any]:
    if not model_id.strip() or len(model_id) > MAX_ID_LENGTH:
        raise InvalidValue(
            f"Invalid model id: expected 1 to {MAX_ID_LENGTH} characters, got {len(model_id)}.", "model"
        )
    return model_object(model_id)
