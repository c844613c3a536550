"""Runs and run steps (and the message guard a run puts on its thread)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from runner.server.engine import Engine
from runner.server.handlers._common import answer, backend, body, page, path
from runner.server.models.run_steps import public_step
from runner.server.models.runs import TERMINAL, check_include, public


def _engine(request: Request) -> Engine:
    engine: Engine = backend(request).engine
    return engine


def _faults(request: Request) -> None:
    refused = _engine(request).settings.faults.request_fault()
    if refused is not None:
        raise refused


def _include(request: Request) -> bool:
    return check_include(request.query_params.getlist("include[]"))


def _run_answer(request: Request, run: dict[str, Any]) -> JSONResponse:
    response = answer(public(run))
    if run["status"] not in TERMINAL:
        # What the SDK's polling helpers wait between polls.
        response.headers["openai-poll-after-ms"] = str(_engine(request).settings.poll_after_ms)
    return response


async def create_thread_and_run(request: Request) -> Response:
    _faults(request)
    payload = await body(request, "CreateThreadAndRunRequest")
    thread, run = backend(request).runs.create_thread_and_run(payload)
    engine = _engine(request)
    if payload.get("stream"):
        stream = engine.follow(run["id"], [("thread.created", thread), ("thread.run.created", public(run))])
        engine.start(run["id"])
        return stream
    engine.start(run["id"])
    return _run_answer(request, run)


async def create_run(request: Request) -> Response:
    _faults(request)
    include = _include(request)
    payload = await body(request, "CreateRunRequest")
    run = backend(request).runs.create_run(path(request, "thread_id"), payload, include)
    engine = _engine(request)
    if payload.get("stream"):
        stream = engine.follow(run["id"], [("thread.run.created", public(run))])
        engine.start(run["id"])
        return stream
    engine.start(run["id"])
    return _run_answer(request, run)


async def list_runs(request: Request) -> Response:
    _faults(request)
    return answer(backend(request).runs.list_runs(path(request, "thread_id"), page(request)))


async def get_run(request: Request) -> Response:
    _faults(request)
    return _run_answer(
        request, backend(request).runs.get_run(path(request, "thread_id"), path(request, "run_id"))
    )


async def modify_run(request: Request) -> Response:
    _faults(request)
    payload = await body(request, "ModifyRunRequest")
    run = backend(request).runs.modify_run(path(request, "thread_id"), path(request, "run_id"), payload)
    return _run_answer(request, run)


async def cancel_run(request: Request) -> Response:
    _faults(request)
    run = backend(request).runs.request_cancel(path(request, "thread_id"), path(request, "run_id"))
    _engine(request).cancelling(run)
    return _run_answer(request, run)


async def submit_tool_ouputs_to_run(request: Request) -> Response:
    # Named after the spec's operationId, misspelling included.
    _faults(request)
    payload = await body(request, "SubmitToolOutputsRunRequest")
    run, step = backend(request).runs.accept_tool_outputs(
        path(request, "thread_id"), path(request, "run_id"), payload["tool_outputs"]
    )
    engine = _engine(request)
    if payload.get("stream"):
        include = bool(run.get("_include"))
        first = [
            ("thread.run.step.completed", public_step(step, include)),
            ("thread.run.queued", public(run)),
        ]
        stream = engine.follow(run["id"], first)
        engine.start(run["id"], announce_queued=False)
        return stream
    engine.start(run["id"], announce_queued=False)
    return _run_answer(request, run)


async def list_run_steps(request: Request) -> Response:
    _faults(request)
    include = _include(request)
    runs = backend(request).runs
    run = runs.get_run(path(request, "thread_id"), path(request, "run_id"))
    return answer(runs.steps.list(run, page(request), include))


async def get_run_step(request: Request) -> Response:
    _faults(request)
    include = _include(request)
    runs = backend(request).runs
    run = runs.get_run(path(request, "thread_id"), path(request, "run_id"))
    return answer(runs.steps.get(run["thread_id"], run["id"], path(request, "step_id"), include))


async def create_message(request: Request) -> Response:
    """Part 1's create message, refused while a run is active on the thread, as the real API does."""
    payload = await body(request, "CreateMessageRequest")
    thread_id = path(request, "thread_id")
    backend(request).runs.ensure_idle(thread_id, for_message=True)
    return answer(backend(request).assistants.create_message(thread_id, payload))
