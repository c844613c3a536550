"""The built-in tools as functions, for a model that only knows functions (docs/upstream.md, "Built-in tools").

A Chat Completions model has no `file_search` or `code_interpreter` tool. The upstream adapter offers them
as two functions, executes their calls in the server and answers them with `role: tool` messages; the
simulator's Chat Completions recognises the same two functions and applies its file_search and
code_interpreter rules to them, so a conversation gets the same steps through the adapter as directly.
This module is the one definition both sides use, in both directions:

    arun_file_search(query: string)      answered with {"results": [{"citation", "file_id", "filename",
                                          "score", "text"}, ...]}; a reply cites result M of tool step N by
                                          writing its `citation` marker, 【N:M†filename】, as the API does
    arun_code_interpreter(code: string)  answered with what the code printed (stdout and stderr), as text

The names carry a prefix so that they do not clash with a client's own functions; a run that offers a
function of the same name is refused (`clashes`). Nothing here knows HTTP or storage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from runner.sim.search import marker
from runner.sim.types import CodeInterpreterCall, FileSearchCall, SearchHit, ToolCall

FILE_SEARCH = "arun_file_search"
CODE_INTERPRETER = "arun_code_interpreter"
NAMES = {FILE_SEARCH: "file_search", CODE_INTERPRETER: "code_interpreter"}
KINDS = {kind: name for name, kind in NAMES.items()}

DEFINITIONS: dict[str, dict[str, Any]] = {
    "file_search": {
        "name": FILE_SEARCH,
        "description": (
            "Search the files attached to this conversation. Returns the best matching passages, each with "
            "a citation marker; when an answer uses a passage, write its marker right after the words it "
            "supports."
        ),
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to look for, in a few words."}},
            "required": ["query"],
            "additionalProperties": False,
        },
    },
    "code_interpreter": {
        "name": CODE_INTERPRETER,
        "description": (
            "Run Python 3 code in a sandbox and return what it printed (stdout and stderr). The value of a "
            "final expression is printed, as in a notebook cell. The working folder is /mnt/data: the files "
            "attached to this conversation are there under their names. Use "
            "it for calculations and for reading those files."
        ),
        "parameters": {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The Python code to run."}},
            "required": ["code"],
            "additionalProperties": False,
        },
    },
}


def function_tool(kind: str) -> dict[str, Any]:
    """The Chat Completions tool that offers built-in tool `kind` ("file_search", "code_interpreter")."""
    return {"type": "function", "function": json.loads(json.dumps(DEFINITIONS[kind]))}


def kind_of(function_name: str) -> str | None:
    """ "file_search" or "code_interpreter" for the two offered functions, None for any other name."""
    return NAMES.get(function_name)


def clashes(functions: Iterable[Mapping[str, Any]]) -> list[str]:
    """The client's function names that are taken by the offered built-ins."""
    return [str(f.get("name")) for f in functions if f.get("name") in NAMES]


def arguments_of(call: FileSearchCall | CodeInterpreterCall) -> str:
    """The JSON arguments of the function call that stands for `call`."""
    if isinstance(call, FileSearchCall):
        return json.dumps({"query": call.query}, ensure_ascii=False, separators=(",", ":"))
    return json.dumps({"code": call.input}, ensure_ascii=False, separators=(",", ":"))


def call_of(function_name: str, arguments: str) -> FileSearchCall | CodeInterpreterCall | None:
    """The built-in call a function call stands for; None when the name is not one of the two.

    Arguments that are not the expected JSON object are kept rather than refused: the whole text becomes
    the query, or the code (which then fails in the sandbox and says why), so the model sees its mistake."""
    kind = kind_of(function_name)
    if kind is None:
        return None
    field = "query" if kind == "file_search" else "code"
    try:
        parsed = json.loads(arguments)
    except ValueError:
        parsed = None
    value = parsed.get(field) if isinstance(parsed, dict) else None
    text = value if isinstance(value, str) else arguments
    return FileSearchCall(text) if kind == "file_search" else CodeInterpreterCall(text)


def answer_of(call: FileSearchCall | CodeInterpreterCall, step_index: int) -> str:
    """The `role: tool` content that answers `call`, the run's tool step number `step_index` (from 0)."""
    if isinstance(call, CodeInterpreterCall):
        return call.logs or ""
    results = [
        {
            "citation": marker(step_index, n, hit.filename),
            "file_id": hit.file_id,
            "filename": hit.filename,
            "score": hit.score,
            "text": hit.text,
        }
        for n, hit in enumerate(call.results or ())
    ]
    return json.dumps({"results": results}, ensure_ascii=False, separators=(",", ":"))


def answered(
    call: FileSearchCall | CodeInterpreterCall, content: str
) -> FileSearchCall | CodeInterpreterCall:
    """`call` with what a `role: tool` answer says came back (the inverse of `answer_of`)."""
    if isinstance(call, CodeInterpreterCall):
        return CodeInterpreterCall(call.input, content or None)
    return FileSearchCall(call.query, tuple(_hits(content)))


def _hits(content: str) -> list[SearchHit]:
    try:
        data = json.loads(content)
    except ValueError:
        return []
    results = data.get("results") if isinstance(data, dict) else None
    hits = []
    for r in results if isinstance(results, list) else []:
        if isinstance(r, dict) and isinstance(r.get("file_id"), str) and isinstance(r.get("text"), str):
            score = r.get("score")
            hits.append(
                SearchHit(
                    r["file_id"],
                    str(r.get("filename") or r["file_id"]),
                    float(score) if isinstance(score, int | float) else 0.0,
                    r["text"],
                )
            )
    return hits


def is_builtin(call: ToolCall) -> bool:
    return isinstance(call, FileSearchCall | CodeInterpreterCall)
