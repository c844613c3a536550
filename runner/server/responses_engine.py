"""The Responses engine: drives one response through the model seam on the server's event loop, turning the
seam's stream into output items and `response.*` events (runner/server/responses_streaming.py).

A response is a loop of model steps, as an Assistants run is: a message ends it; function calls end it too
(the client answers them with `function_call_output` items in its next request, through
`previous_response_id` or a conversation); file_search and code_interpreter calls are run here (the same
retrieval index and sandbox as runs) and the model is asked again. What the model sees comes from the items
(runner/server/models/items.py, `seam_view`).

Only a background response can be cancelled; the engine checks it before each delta (reading it back only
when a request saved or deleted it meanwhile, `Responses.stored`) and stops at the first delta after the
cancel, closing the model's stream. Nothing depends on a listener: a response goes
on to its end whether or not anyone streams it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import replace
from typing import Any

from runner.server.engine import FAILURES, RunSettings
from runner.server.exceptions import InvalidRequest
from runner.server.models.common import new_id, now
from runner.server.models.conversations import Conversations
from runner.server.models.items import missing_outputs, public_item, seam_view
from runner.server.models.responses import Responses, public, seam_tool_choice, seam_tools
from runner.server.models.vector_stores import VectorStores
from runner.server.responses_streaming import ResponseEvents, response_segment
from runner.server.seam import StoreRetriever, code_origin, sandbox_files
from runner.server.streaming import Bus, EventStreamResponse
from runner.sim import (
    CodeInterpreterCall,
    ContextOverflow,
    FileSearchCall,
    MessageStep,
    Model,
    ModelEvent,
    ModelFailure,
    ModelInput,
    Sandbox,
    StepDone,
    StepStart,
    TextDelta,
    ToolCallDelta,
    ToolCallsStep,
    execute_builtin_calls,
    needs_outputs,
    prompt_tokens,
)
from runner.sim.sandbox import Origin, SandboxFile

log = logging.getLogger("runner.server")

# Every model's context window here, in the simulator's tokens (gpt-4o's 128k).
CONTEXT_WINDOW = 128_000
CONTEXT_EXCEEDED = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)


class _Stopped(Exception):
    """The response was cancelled or deleted while it ran."""


class ResponseEngine:
    def __init__(
        self,
        responses: Responses,
        conversations: Conversations,
        vector_stores: VectorStores,
        settings: RunSettings,
        model: Model,
        sandbox: Sandbox,
        bus: Bus,
    ) -> None:
        self.responses = responses
        self.conversations = conversations
        self.vector_stores = vector_stores
        self.settings = settings
        self.model = model
        self.sandbox = sandbox
        # As in runs: code the simulator wrote may fall back to the guard, a real model's needs the boundary.
        self.code_origin: Origin = code_origin(model)
        self.bus = bus
        self._tasks: set[asyncio.Task[dict[str, Any]]] = set()

    # -- what handlers call ---------------------------------------------------------------------------

    def check(self, response: dict[str, Any], items: list[dict[str, Any]]) -> None:
        """The request's rules that need the whole context: every function call of this turn answered, and
        the input within the context window (or truncated, with `truncation: auto`)."""
        context = self._context(response, items)
        missing = missing_outputs(context)
        if missing:
            raise InvalidRequest(f"No tool output found for function call {missing[0]}.", "input", None)
        self._input(response, items, ())

    def start(self, response: dict[str, Any], items: list[dict[str, Any]]) -> asyncio.Task[dict[str, Any]]:
        task = asyncio.get_running_loop().create_task(self._guarded(response, items))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def follow(self, response_id: str) -> EventStreamResponse:
        feed = self.bus.subscribe(response_id, [])
        frames = response_segment(self.bus, response_id, feed)
        return EventStreamResponse(frames, self.settings.faults.stream_cut())

    # -- driving a response ---------------------------------------------------------------------------

    async def _guarded(self, response: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        events = ResponseEvents(self.bus, response["id"])
        try:
            await self._drive(response, items, events)
        except asyncio.CancelledError:
            raise  # the server is stopping: start-up recovery ends the response
        except _Stopped:
            events.end()
        except (ModelFailure, ContextOverflow) as failure:
            # The model could not answer (an upstream that kept failing, a prompt over its context, a
            # recorded answer missing): the response fails with what happened, as a run does.
            log.warning("response %s failed: %s", response["id"], failure)
            if response["status"] not in ("completed", "failed", "cancelled", "incomplete"):
                if isinstance(failure, ModelFailure):
                    error = {"code": failure.code, "message": failure.message}
                else:
                    error = {
                        "code": "server_error",
                        "message": f"The prompt does not fit the model: {failure}",
                    }
                self._finish(response, items, events, "failed", error=error)
        except Exception:
            log.exception("response %s failed inside the engine", response["id"])
            if response["status"] not in ("completed", "failed", "cancelled", "incomplete"):
                error = {"code": "server_error", "message": FAILURES["server_error"]}
                self._finish(response, items, events, "failed", error=error)
        return response

    def _stopped(self, response: dict[str, Any]) -> bool:
        if not response["background"]:
            return False
        stored = self.responses.stored(response)
        if stored is None or stored["status"] == "cancelled":
            response["status"] = "cancelled" if stored is not None else response["status"]
            for item in response["output"]:
                if item.get("status") == "in_progress":
                    item["status"] = "incomplete"
            if stored is not None:
                self.responses.save(response)
            return True
        return False

    def _checkpoint(self, response: dict[str, Any]) -> None:
        if self._stopped(response):
            raise _Stopped()

    async def _drive(
        self, response: dict[str, Any], items: list[dict[str, Any]], events: ResponseEvents
    ) -> None:
        events.response("response.created", public(response))
        if response["background"]:
            events.response("response.queued", public(response))
            await asyncio.sleep(self.settings.model_time / 10)
            self._checkpoint(response)
            response["status"] = "in_progress"
            self.responses.save(response)
        events.response("response.in_progress", public(response))
        failure = self.settings.faults.run_failure()
        if failure is not None:
            error = {"code": failure, "message": FAILURES[failure]}
            self._finish(response, items, events, "failed", error=error)
            return
        usage = [0, 0]
        own: list[ToolCallsStep] = []
        while True:
            inp = self._input(response, items, tuple(own), usage[1])
            async with aclosing(self.model.stream(inp)) as stream:
                first = await anext(stream)
                if isinstance(first, StepDone):
                    # Nothing written: the step did not fit into max_output_tokens.
                    self._count(usage, first.step)
                    self._finish(response, items, events, "incomplete", usage, "max_output_tokens")
                    return
                assert isinstance(first, StepStart)
                if first.kind == "message":
                    said = await self._message(response, stream, events)
                    if said is not None:
                        self._count(usage, said.step)
                        if said.finish == "length":
                            self._finish(response, items, events, "incomplete", usage, "max_output_tokens")
                        else:
                            self._finish(response, items, events, "completed", usage)
                        return
                    # Text, then tool calls in the same answer: a message item, then the call items.
                done, written = await self._calls(response, stream, events)
            self._count(usage, done.step)
            assert isinstance(done.step, ToolCallsStep)
            if done.finish == "length":
                self._finish(response, items, events, "incomplete", usage, "max_output_tokens")
                return
            if needs_outputs(done.step):
                self._finish(response, items, events, "completed", usage)
                return
            own.append(await self._run_builtins(response, inp, done.step, written, events))

    def _count(self, usage: list[int], step: MessageStep | ToolCallsStep) -> None:
        usage[0] += step.usage.prompt_tokens
        usage[1] += step.usage.completion_tokens

    # -- what the model sees ---------------------------------------------------------------------------

    def _context(self, response: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        conversation = (response.get("conversation") or {}).get("id")
        before = self.conversations.items(conversation) if conversation else []
        return [*before, *items]

    def _input(
        self,
        response: dict[str, Any],
        items: list[dict[str, Any]],
        own: tuple[ToolCallsStep, ...],
        used: int = 0,
    ) -> ModelInput:
        extra, messages, steps, earlier = seam_view(self._context(response, items))
        instructions = "\n\n".join(t for t in (response.get("instructions") or "", extra) if t)
        limit = response.get("max_output_tokens")
        inp = ModelInput(
            instructions=instructions,
            tools=seam_tools(response["tools"]),
            tool_choice=seam_tool_choice(response["tool_choice"]),
            model=response["model"],
            temperature=response.get("temperature"),
            messages=messages,
            steps=(*steps, *own),
            parallel_tool_calls=bool(response.get("parallel_tool_calls", True)),
            max_tokens=None if limit is None else limit - used,
            earlier_steps=earlier,
            response_format=response["text"]["format"],
        )
        while prompt_tokens(inp) > CONTEXT_WINDOW:
            if response.get("truncation") != "auto" or len(inp.messages) <= 1:
                raise InvalidRequest(CONTEXT_EXCEEDED, "input", "context_length_exceeded")
            # `truncation: auto` drops the oldest messages until the rest fits.
            inp = replace(inp, messages=inp.messages[1:])
        return inp

    # -- a message step ---------------------------------------------------------------------------------

    async def _message(
        self, response: dict[str, Any], stream: AsyncGenerator[ModelEvent, None], events: ResponseEvents
    ) -> StepDone | None:
        """A message item; None when the model goes on to call tools (`StepStart("tool_calls")`): the item
        is then completed and the stream is left at the calls."""
        item: dict[str, Any] = {
            "id": new_id("item_msg"),
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        index = len(response["output"])
        response["output"].append(item)
        events.item_added(index, public_item(item, ()))
        events.part_added(index, item["id"])
        text = ""
        annotations: list[dict[str, Any]] = []
        async for event in stream:
            if isinstance(event, StepDone) or (isinstance(event, StepStart) and event.kind == "tool_calls"):
                cut = isinstance(event, StepDone) and event.finish == "length"
                part = {"type": "output_text", "annotations": annotations, "logprobs": [], "text": text}
                events.text_done(index, item["id"], part)
                item.update(status="incomplete" if cut else "completed", content=[part])
                events.item_done(index, public_item(item, ()))
                return event if isinstance(event, StepDone) else None
            if not isinstance(event, TextDelta):
                continue
            self._checkpoint(response)
            piece = event.text
            for citation in event.citations:
                annotation = {
                    "type": "file_citation",
                    "file_id": citation.file_id,
                    "filename": citation.filename,
                    "index": len(text),
                }
                events.annotation_added(index, item["id"], len(annotations), annotation)
                annotations.append(annotation)
                piece = piece.replace(citation.text, "")
            if piece:
                text += piece
                item["content"] = [
                    {"type": "output_text", "annotations": annotations, "logprobs": [], "text": text}
                ]
                events.text_delta(index, item["id"], piece)
        raise RuntimeError("the model's stream ended without a StepDone")

    # -- a tool step ------------------------------------------------------------------------------------

    async def _calls(
        self, response: dict[str, Any], stream: AsyncGenerator[ModelEvent, None], events: ResponseEvents
    ) -> tuple[StepDone, list[tuple[int, dict[str, Any]]]]:
        written: list[tuple[int, dict[str, Any]]] = []  # (output index, item) per call, in order
        container = response.setdefault("_container", new_id("cntr"))
        async for event in stream:
            if isinstance(event, StepDone):
                if written:
                    self._close(*written[-1], events)
                return event, written
            if not isinstance(event, ToolCallDelta):
                continue
            self._checkpoint(response)
            if event.index == len(written):
                if written:
                    self._close(*written[-1], events)
                item = _new_call(event, container)
                index = len(response["output"])
                response["output"].append(item)
                written.append((index, item))
                events.item_added(index, public_item(item, ()))
                if item["type"] == "file_search_call":
                    events.call_status("response.file_search_call.in_progress", index, item["id"])
                elif item["type"] == "code_interpreter_call":
                    events.call_status("response.code_interpreter_call.in_progress", index, item["id"])
            index, item = written[event.index]
            if not event.text:
                continue
            if item["type"] == "function_call":
                item["arguments"] += event.text
                events.arguments_delta(index, item["id"], event.text)
            elif item["type"] == "code_interpreter_call":
                item["code"] += event.text
                events.code_delta(index, item["id"], event.text)
            else:
                item["_query"] = item.get("_query", "") + event.text
        raise RuntimeError("the model's stream ended without a StepDone")

    def _close(self, index: int, item: dict[str, Any], events: ResponseEvents) -> None:
        """A call written in full: a function call is done; built-in calls are done once they ran."""
        if item["type"] == "function_call":
            item["status"] = "completed"
            events.arguments_done(index, item)
            events.item_done(index, public_item(item, ()))
        elif item["type"] == "code_interpreter_call":
            events.code_done(index, item["id"], item["code"])

    def _code_files(self, response: dict[str, Any]) -> tuple[SandboxFile, ...]:
        """The files of the code_interpreter tool's container (`{"type": "auto", "file_ids": [...]}`)."""
        tool = next((t for t in response["tools"] if t["type"] == "code_interpreter"), None) or {}
        container = tool.get("container")
        file_ids = container.get("file_ids") or [] if isinstance(container, dict) else []
        return sandbox_files(self.responses.store, file_ids)

    async def _run_builtins(
        self,
        response: dict[str, Any],
        inp: ModelInput,
        step: ToolCallsStep,
        written: list[tuple[int, dict[str, Any]]],
        events: ResponseEvents,
    ) -> ToolCallsStep:
        for index, item in written:
            if item["type"] == "file_search_call":
                events.call_status("response.file_search_call.searching", index, item["id"])
            else:
                events.call_status("response.code_interpreter_call.interpreting", index, item["id"])
        search = next((t for t in response["tools"] if t["type"] == "file_search"), None) or {}
        retriever = StoreRetriever(
            self.vector_stores, search.get("vector_store_ids") or [], search.get("filters")
        )
        files = (
            self._code_files(response) if any(isinstance(c, CodeInterpreterCall) for c in step.calls) else ()
        )
        done = await asyncio.to_thread(
            execute_builtin_calls,
            step,
            inp,
            retriever=retriever,
            code_runner=self.sandbox.bound(origin=self.code_origin, files=files),
        )
        self._checkpoint(response)
        include = response.get("_include") or []
        for (index, item), call in zip(written, done.calls, strict=True):
            if isinstance(call, FileSearchCall):
                item["queries"] = [call.query]
                item["_results"] = [
                    {
                        "attributes": {},
                        "file_id": h.file_id,
                        "filename": h.filename,
                        "score": h.score,
                        "text": h.text,
                    }
                    for h in call.results or ()
                ]
                item["status"] = "completed"
                events.call_status("response.file_search_call.completed", index, item["id"])
            elif isinstance(call, CodeInterpreterCall):
                item["_outputs"] = [{"type": "logs", "logs": call.logs}] if call.logs else []
                item["status"] = "completed"
                events.call_status("response.code_interpreter_call.completed", index, item["id"])
            events.item_done(index, public_item(item, include))
        return done

    # -- the end ----------------------------------------------------------------------------------------

    def _finish(
        self,
        response: dict[str, Any],
        items: list[dict[str, Any]],
        events: ResponseEvents,
        status: str,
        usage: list[int] | None = None,
        reason: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        if self._stopped(response):
            raise _Stopped()
        response["status"] = status
        if status == "completed":
            response["completed_at"] = now()
        if reason is not None:
            response["incomplete_details"] = {"reason": reason}
        response["error"] = error
        if usage is not None:
            response["usage"] = usage_object(usage[0], usage[1])
        self.responses.save(response)
        conversation = (response.get("conversation") or {}).get("id")
        if conversation and status in ("completed", "incomplete"):
            # The conversation keeps this turn: its input, then what the model wrote.
            self.conversations.append(conversation, [*items, *response["output"]])
        kind = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(
            status, "response.failed"
        )
        events.response(kind, public(response))


def _new_call(delta: ToolCallDelta, container: str) -> dict[str, Any]:
    if delta.kind == "function":
        return {
            "id": new_id("fc"),
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": new_id("call"),
            "name": delta.name,
        }
    if delta.kind == "file_search":
        return {
            "id": new_id("fs"),
            "type": "file_search_call",
            "status": "in_progress",
            "queries": [],
            "results": None,
        }
    return {
        "id": new_id("ci"),
        "type": "code_interpreter_call",
        "status": "in_progress",
        "code": "",
        "container_id": container,
        "outputs": None,
    }


def usage_object(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }
