"""Extract the request and response schemas the local server needs from OpenAI's published spec.

Usage: python scripts/gen_openapi_subset.py [SPEC] [OUT]
(defaults: ../shared/openapi/openai-openapi.yaml and runner/server/openapi_subset.json)

The output keeps only the named roots and every schema they reference, so `$ref`s stay internal to the
file (`#/components/schemas/X`) and any JSON Schema validator can resolve them with the file as its root
document. 3.0-style `nullable: true` is rewritten into 3.1 form (null added to `type`, or wrapped in
`anyOf`) so that a plain 2020-12 validator accepts null where the spec says it may. The spec's commit id is
recorded so that a regenerated file can be traced to its source.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

SPEC_COMMIT = "f85dbe223d40e1a31cba812ab2d755c7e98a92a3"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT / ".." / "shared" / "openapi" / "openai-openapi.yaml"
DEFAULT_OUT = REPO_ROOT / "runner" / "server" / "openapi_subset.json"

ROOTS = [
    # request bodies
    "CreateAssistantRequest",
    "ModifyAssistantRequest",
    "CreateThreadRequest",
    "ModifyThreadRequest",
    "CreateMessageRequest",
    "ModifyMessageRequest",
    "CreateFileRequest",
    "CreateVectorStoreRequest",
    "UpdateVectorStoreRequest",
    "CreateVectorStoreFileRequest",
    "CreateVectorStoreFileBatchRequest",
    "UpdateVectorStoreFileAttributesRequest",
    "VectorStoreSearchRequest",
    # runs (part 2)
    "CreateRunRequest",
    "CreateThreadAndRunRequest",
    "ModifyRunRequest",
    "SubmitToolOutputsRunRequest",
    # response objects (used by the tests to check what the server sends)
    "AssistantObject",
    "ListAssistantsResponse",
    "DeleteAssistantResponse",
    "ThreadObject",
    "DeleteThreadResponse",
    "MessageObject",
    "ListMessagesResponse",
    "DeleteMessageResponse",
    "OpenAIFile",
    "ListFilesResponse",
    "DeleteFileResponse",
    "VectorStoreObject",
    "ListVectorStoresResponse",
    "DeleteVectorStoreResponse",
    "VectorStoreFileObject",
    "ListVectorStoreFilesResponse",
    "DeleteVectorStoreFileResponse",
    "VectorStoreFileBatchObject",
    "VectorStoreFileContentResponse",
    "VectorStoreSearchResultsPage",
    "ErrorResponse",
    # runs, run steps and stream events (part 2)
    "RunObject",
    "ListRunsResponse",
    "RunStepObject",
    "ListRunStepsResponse",
    "AssistantStreamEvent",
    # the Responses and Conversations APIs
    "CreateResponse",
    "Response",
    "ResponseStreamEvent",
    "ResponseItemList",
    "CreateConversationBody",
    "UpdateConversationBody",
    "ConversationResource",
    "DeletedConversationResource",
    "ConversationItem",
    "ConversationItemList",
    # models (GET /models, GET /models/{model})
    "ListModelsResponse",
    "Model",
    # Chat Completions (the Responses-server issue)
    "CreateChatCompletionRequest",
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
]

# Request bodies the spec writes inline on an operation rather than as a named schema: name -> (path, method).
INLINE_BODIES = {
    "CreateConversationItemsRequest": ("/conversations/{conversation_id}/items", "post"),
}

# Schemas whose `oneOf` branches overlap by design, so that a valid value matches more than one of them and a
# strict validator would refuse what the real API accepts (the recordings send these). Their `oneOf` is
# written as `anyOf`. Name -> why.
ANY_OF = {
    "InputItem": "a user message with input_text parts is both an EasyInputMessage and an Item (InputMessage)",
    "Item": "InputMessage and OutputMessage overlap for assistant messages",
}

# Fields the spec marks required that the real API lets a request leave out (its documented defaults apply).
# Name -> fields.
OPTIONAL = {
    "FunctionTool": ("strict",),  # defaults to true on the Responses API
}

REF_PREFIX = "#/components/schemas/"


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            found.add(ref[len(REF_PREFIX) :])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _own_recursion(node: Any, name: str) -> Any:
    # `$recursiveRef: "#"` (2019-09) means "this schema" only while the schema is its own document; once it
    # sits under components/schemas it must name itself explicitly.
    if isinstance(node, list):
        return [_own_recursion(v, name) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get("$recursiveRef") == "#":
        return {"$ref": REF_PREFIX + name}
    return {k: _own_recursion(v, name) for k, v in node.items() if k != "$recursiveAnchor"}


def _drop_nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_drop_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    members = node.get("allOf")
    if isinstance(members, list) and any(_only_nullable(m) for m in members):
        # `allOf: [{$ref: X}, {nullable: true}]` means "X, or null"; kept as allOf, the null could never
        # match X (tool_choice, truncation_strategy, ...).
        rest = [_drop_nullable(m) for m in members if not _only_nullable(m)]
        kept = {k: _drop_nullable(v) for k, v in node.items() if k not in ("allOf", "nullable")}
        inner = rest[0] if len(rest) == 1 else {"allOf": rest}
        return {**kept, "anyOf": [inner, {"type": "null"}]}
    out = {k: _drop_nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list):
            out["type"] = [*kind, "null"] if "null" not in kind else kind
        else:
            # $ref, anyOf or oneOf without a type: say "this, or null" explicitly.
            out = {"anyOf": [out, {"type": "null"}]}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _only_nullable(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and node.get("nullable") is True
        and not (node.keys() - {"nullable", "description"})
    )


NULL_IS_ABSENT = "x-null-is-absent"


def _null_as_absent(node: Any) -> Any:
    """Request bodies: an optional property sent as null is taken as absent, as the real API takes it (clients
    send `{"messages": null}`, `tool_resources: {"file_search": null}`). The property accepts null and is
    marked, so that the server drops the null after validation (runner/server/validation.py)."""
    if isinstance(node, list):
        return [_null_as_absent(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _null_as_absent(v) for k, v in node.items()}
    properties = out.get("properties")
    if isinstance(properties, dict):
        required = set(out.get("required") or ())
        out["properties"] = {
            name: sub if name in required or not isinstance(sub, dict) else _nullable_property(sub)
            for name, sub in properties.items()
        }
    return out


def _nullable_property(sub: dict[str, Any]) -> dict[str, Any]:
    for key in ("anyOf", "oneOf"):
        branches = sub.get(key)
        if isinstance(branches, list) and {"type": "null"} in branches:
            return sub  # nullable in the spec: null keeps its meaning (such as "clear" on modify)
    kind = sub.get("type")
    if isinstance(kind, list) and "null" in kind:
        return sub
    composed = any(k in sub for k in ("const", "oneOf", "anyOf", "allOf", "not"))
    if isinstance(kind, str | list) and not composed:
        kinds = [kind] if isinstance(kind, str) else kind
        out = {**sub, "type": [*kinds, "null"], NULL_IS_ABSENT: True}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [sub, {"type": "null"}], NULL_IS_ABSENT: True}


# Where the real API's behaviour differs from the spec (docs/local-server.md, "Request validation"):
# (schema, path of keys inside it, what to set there).
FIXES: list[tuple[str, tuple[str, ...], dict[str, Any]]] = [
    # The real API answered 200 to max_*_tokens of 16 (recorded requests; the SDKs' examples use 16).
    ("CreateRunRequest", ("properties", "max_completion_tokens"), {"minimum": 1}),
    ("CreateRunRequest", ("properties", "max_prompt_tokens"), {"minimum": 1}),
    ("CreateThreadAndRunRequest", ("properties", "max_completion_tokens"), {"minimum": 1}),
    ("CreateThreadAndRunRequest", ("properties", "max_prompt_tokens"), {"minimum": 1}),
    ("RunObject", ("properties", "max_completion_tokens"), {"minimum": 1}),
    ("RunObject", ("properties", "max_prompt_tokens"), {"minimum": 1}),
    # The real API's bound on the messages one request may create ("at most 32 items").
    ("CreateThreadRequest", ("properties", "messages"), {"maxItems": 32}),
    ("CreateRunRequest", ("properties", "additional_messages"), {"maxItems": 32}),
    # The spec puts the attachments' `required` on the array, where it means nothing; an attachment
    # without a file_id is refused. `tools` stays optional, as in both SDKs' types.
    ("CreateMessageRequest", ("properties", "attachments", "anyOf", "0", "items"), {"required": ["file_id"]}),
    # An image URL must be a URL: the real API refuses "".
    ("MessageContentImageUrlObject", ("properties", "image_url", "properties", "url"), {"minLength": 1}),
]


def _apply_fixes(schemas: dict[str, Any]) -> None:
    for name, path, change in FIXES:
        if name not in schemas:
            raise SystemExit(f"fix for {name}: the schema is not in the subset")
        node: Any = schemas[name]
        for key in path:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node.update(change)


def build_subset(spec: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    schemas = dict(spec["components"]["schemas"])
    for name, (route, method) in INLINE_BODIES.items():
        schemas[name] = spec["paths"][route][method]["requestBody"]["content"]["application/json"]["schema"]
        roots = [*roots, name]
    wanted: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted[name] = schemas[name]
        if name in OPTIONAL:
            schema = dict(wanted[name])
            schema["required"] = [r for r in schema.get("required", []) if r not in OPTIONAL[name]]
            wanted[name] = schema
        if name in ANY_OF and "oneOf" in wanted[name]:
            wanted[name] = {("anyOf" if k == "oneOf" else k): v for k, v in wanted[name].items()}
        todo.extend(sorted(_refs(schemas[name]) - wanted.keys()))
    return {
        "x-source": {
            "repository": "openai/openai-openapi",
            "file": "openapi.yaml",
            "commit": SPEC_COMMIT,
            "info_version": spec.get("info", {}).get("version"),
            "generator": "scripts/gen_openapi_subset.py",
        },
        "components": {"schemas": _finished(wanted)},
    }


def _finished(wanted: dict[str, Any]) -> dict[str, Any]:
    out = {k: _drop_nullable(_own_recursion(wanted[k], k)) for k in sorted(wanted)}
    _apply_fixes(out)
    return {k: _null_as_absent(v) if k.endswith("Request") else v for k, v in out.items()}


def main(argv: list[str]) -> int:
    spec_path = Path(argv[0]) if argv else DEFAULT_SPEC
    out_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path.open(encoding="utf-8") as fh:
        spec = yaml.load(fh, Loader=loader)
    subset = build_subset(spec, ROOTS)
    out_path.write_text(
        json.dumps(subset, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(subset['components']['schemas'])} schemas to {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
