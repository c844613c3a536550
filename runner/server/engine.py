"""The run engine: drives runs forward in the background on the server's event loop, one model step at a
time through the seam (runner/server/seam.py), and publishes every change as a stream event.

Timing: the model paces its own stream (the simulator, `runner.sim.stream.SimulatedModel`, spreads each
step over `model_time` seconds); a new run waits a tenth of that in `queued`. Between deltas the engine
checks the run, so a cancel or an expiry takes effect within one delta: the engine then closes the
model's stream and keeps what was written. The check reads nothing back while the engine's own copy is the
one saved last (runner/server/models/runs.py, `Runs.current`): a delta costs no SQL.

The engine never depends on a stream: runs go on to their terminal state whether or not anyone listens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Coroutine
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from runner.server.faults import Faults
from runner.server.models.assistants import Assistants
from runner.server.models.common import new_id, now
from runner.server.models.run_steps import public_step
from runner.server.models.runs import TERMINAL, Runs, public
from runner.server.models.vector_stores import VectorStores
from runner.server.seam import (
    StoreRetriever,
    code_file_ids,
    code_origin,
    model_input,
    sandbox_files,
    search_store_ids,
    step_from_json,
    step_to_json,
)
from runner.server.streaming import (
    Bus,
    EventStreamResponse,
    delta_annotation,
    message_delta,
    segment,
    step_delta,
    streamed,
    text_delta_template,
    tool_call_delta,
)
from runner.sim import (
    CodeInterpreterCall,
    ContextOverflow,
    MessageStep,
    Model,
    ModelEvent,
    ModelFailure,
    ModelInput,
    Sandbox,
    SimulatedModel,
    StepDone,
    StepStart,
    TextDelta,
    ToolCallDelta,
    ToolCallsStep,
    execute_builtin_calls,
    needs_outputs,
    prompt_tokens,
    tool_call_to_api,
)
from runner.sim.sandbox import Origin, SandboxFile

log = logging.getLogger("runner.server")

DEFAULT_MODEL_TIME = 0.5
FAILURES = {
    "server_error": "Sorry, something went wrong.",
    "rate_limit_exceeded": "Rate limit reached for the model. Please try again later.",
}


@dataclass(frozen=True)
class RunSettings:
    model_time: float = DEFAULT_MODEL_TIME
    run_ttl: float = 600.0
    faults: Faults = field(default_factory=Faults)
    code_execution: bool = True
    unsafe_code_execution: bool = False

    @property
    def poll_after_ms(self) -> int:
        # A fifth of a model step: a polling client sees each status change without hammering the server.
        return max(1, min(1000, round(self.model_time * 200)))


class Engine:
    def __init__(
        self,
        runs: Runs,
        assistants: Assistants,
        vector_stores: VectorStores,
        settings: RunSettings,
        model: Model | None = None,
    ) -> None:
        self.runs = runs
        self.assistants = assistants
        self.vector_stores = vector_stores
        self.settings = settings
        self.model: Model = model or SimulatedModel(settings.model_time)
        self.sandbox = Sandbox(
            enabled=settings.code_execution, unsafe_code_execution=settings.unsafe_code_execution
        )
        # Where code_interpreter code comes from decides how it may run (runner/sim/sandbox.py): the
        # simulator's own code runs on any machine, a real model's only behind the sandbox's boundary.
        self.code_origin: Origin = code_origin(self.model)
        # The simulator's prompt is checked against max_prompt_tokens here, on the count it uses; any other
        # model gets the budget in its input and fits its own prompt to it (docs/upstream.md).
        self.fits_prompt = not isinstance(self.model, SimulatedModel)
        self.bus = Bus()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # -- what handlers call ---------------------------------------------------------------------------

    def start(self, run_id: str, announce_queued: bool = True) -> None:
        self._spawn(run_id, self._guarded(run_id, announce_queued))

    def _spawn(self, run_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks[run_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            # Only this task's own entry: the run may have a newer task by now.
            if self._tasks.get(run_id) is done:
                del self._tasks[run_id]

        task.add_done_callback(forget)

    def follow(self, run_id: str, first: list[tuple[str, dict[str, Any]]]) -> EventStreamResponse:
        feed = self.bus.subscribe(run_id, first)
        return EventStreamResponse(segment(self.bus, run_id, feed), self.settings.faults.stream_cut())

    def cancelling(self, run: dict[str, Any]) -> None:
        self.bus.publish(run["id"], "thread.run.cancelling", public(run))
        if run["id"] not in self._tasks:
            # Nothing is driving the run (it waits for tool outputs): end the cancel here.
            self._spawn(run["id"], self._finish_cancel(run["id"]))

    # -- driving a run --------------------------------------------------------------------------------

    async def _guarded(self, run_id: str, announce_queued: bool) -> None:
        try:
            await self._drive(run_id, announce_queued)
        except asyncio.CancelledError:
            raise  # the server is stopping: the run is left for start-up recovery
        except ModelFailure as failure:
            # The model could not answer (an upstream that kept failing, a recorded answer missing).
            log.warning("run %s failed: %s", run_id, failure.message)
            run = self.runs.load(run_id)
            if run["status"] not in TERMINAL:
                error = {"code": failure.code, "message": failure.message}
                self._emit_run(self.runs.finish(run, "failed", last_error=error))
        except ContextOverflow as overflow:
            log.warning("run %s ended incomplete: %s", run_id, overflow)
            run = self.runs.load(run_id)
            if run["status"] not in TERMINAL:
                self._emit_run(self.runs.finish(run, "incomplete", reason="max_prompt_tokens"))
        except Exception:
            log.exception("run %s failed inside the engine", run_id)
            run = self.runs.load(run_id)
            if run["status"] not in TERMINAL:
                error = {"code": "server_error", "message": FAILURES["server_error"]}
                self._emit_run(self.runs.finish(run, "failed", last_error=error))

    async def _finish_cancel(self, run_id: str) -> None:
        await self._pause(self.settings.model_time / 10)
        self._checkpoint(run_id)

    async def _pause(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def _emit_run(self, run: dict[str, Any]) -> None:
        self.bus.publish(run["id"], f"thread.run.{run['status']}", public(run))

    def _emit_step(self, run: dict[str, Any], event: str, step: dict[str, Any]) -> None:
        self.bus.publish(run["id"], event, public_step(step, bool(run.get("_include"))))

    def _checkpoint(self, run: dict[str, Any] | str) -> dict[str, Any] | None:
        """The run as stored now, or None once it has ended (a cancel is finished here). Given the engine's
        own copy, that copy is read again only if a request changed the run meanwhile (`Runs.current`)."""
        run = self.runs.load(run) if isinstance(run, str) else self.runs.current(run)
        if run["status"] == "cancelling":
            self._emit_run(self.runs.finish(run, "cancelled"))
            return None
        if run["status"] == "expired":
            self._emit_run(run)
            return None
        if run["status"] in TERMINAL:
            return None
        return run

    async def _drive(self, run_id: str, announce_queued: bool) -> None:
        if announce_queued:
            self._emit_run(self.runs.load(run_id))
        await self._pause(self.settings.model_time / 10)
        run: dict[str, Any] | None = self._checkpoint(run_id)
        if run is None:
            return
        self._emit_run(self.runs.set_status(run, "in_progress", started_at=now()))
        failure = self.settings.faults.run_failure()
        if failure is not None:
            error = {"code": failure, "message": FAILURES[failure]}
            self._emit_run(self.runs.finish(run, "failed", last_error=error))
            return
        while True:
            inp = self._input(run)
            limit = run.get("max_prompt_tokens")
            if (
                limit is not None
                and not self.fits_prompt
                and run["_prompt_tokens"] + prompt_tokens(inp) > limit
            ):
                # Checked before the model is asked, from the same deterministic count the simulator uses.
                self._emit_run(self.runs.finish(run, "incomplete", reason="max_prompt_tokens"))
                return
            run = await self._step(run, inp)
            if run is None:
                return

    async def _step(self, run: dict[str, Any], inp: ModelInput) -> dict[str, Any] | None:
        """One model step, consumed as it streams; the run to go on with, or None once it stopped."""
        async with aclosing(self.model.stream(inp)) as events:
            async for event in events:
                if isinstance(event, StepStart):
                    if event.kind == "message":
                        return await self._message_step(run, inp, events)
                    return await self._tool_step(run, inp, events)
                if isinstance(event, StepDone):
                    # Nothing written: the step did not fit into max_completion_tokens.
                    self._emit_run(self.runs.finish(run, "incomplete", reason="max_completion_tokens"))
                    return None
        raise RuntimeError("the model's stream ended without a StepDone")

    def _input(self, run: dict[str, Any]) -> ModelInput:
        messages = [
            m
            for m in self.runs.store.all("messages", thread_id=run["thread_id"])
            if not (m["role"] == "assistant" and m["run_id"] == run["id"])
        ]
        steps = tuple(step_from_json(s) for s in run["_steps"])
        limit = run.get("max_completion_tokens")
        budget = None if limit is None else limit - run["_completion_tokens"]
        prompt_limit = run.get("max_prompt_tokens")
        prompt_budget = None if prompt_limit is None else prompt_limit - run["_prompt_tokens"]
        filenames = {}
        for a in (a for m in messages for a in m.get("attachments") or []):
            meta = self.runs.store.get("files", a["file_id"])
            if meta is not None:
                filenames[a["file_id"]] = meta["filename"]
        inp = model_input(run, messages, steps, filenames)
        return replace(inp, max_tokens=budget, max_prompt_tokens=prompt_budget)

    def _count(self, run: dict[str, Any], prompt: int, completion: int) -> None:
        run["_prompt_tokens"] += prompt
        run["_completion_tokens"] += completion

    async def _tool_step(
        self, started: dict[str, Any], inp: ModelInput, events: AsyncGenerator[ModelEvent, None]
    ) -> dict[str, Any] | None:
        run: dict[str, Any] | None = started
        assert run is not None
        ids: list[str] = []
        started_calls: set[int] = set()
        step = self.runs.steps.create(run, "tool_calls", {"type": "tool_calls", "tool_calls": []})
        self._emit_step(run, "thread.run.step.created", step)
        self._emit_step(run, "thread.run.step.in_progress", step)
        finished: StepDone | None = None
        async for event in events:
            if isinstance(event, StepDone):
                finished = event
                break
            if not isinstance(event, ToolCallDelta):
                continue
            if (run := self._checkpoint(run)) is None:
                return None
            # Calls may start out of order (the upstream adapter relays a built-in call once it is whole).
            first = event.index not in started_calls
            started_calls.add(event.index)
            ids.extend(new_id("call") for _ in range(len(ids), event.index + 1))
            delta = tool_call_delta(event, ids[event.index], first, inp)
            if delta is not None:
                self.bus.publish(run["id"], "thread.run.step.delta", step_delta(step["id"], [delta]))
        if finished is None or not isinstance(finished.step, ToolCallsStep):
            raise RuntimeError("a tool step's stream must end with its ToolCallsStep")
        out = finished.step
        ids.extend(new_id("call") for _ in range(len(ids), len(out.calls)))
        if finished.finish == "length":
            self.runs.steps.save(step)
            self._emit_run(self.runs.finish(run, "incomplete", reason="max_completion_tokens"))
            return None
        step["step_details"]["tool_calls"] = [
            tool_call_to_api(c, i, inp) for c, i in zip(out.calls, ids, strict=True)
        ]
        if needs_outputs(out) and len(out.function_calls) < len(out.calls):
            # A real model may call a built-in tool and the client's functions in one step: the built-ins
            # run now, so that the step waits for the client's outputs only.
            out = await asyncio.to_thread(
                execute_builtin_calls,
                out,
                inp,
                retriever=StoreRetriever(self.vector_stores, self._store_ids(run)),
                code_runner=self.sandbox,
            )
            step["step_details"]["tool_calls"] = [
                tool_call_to_api(c, i, inp, include_content=True) for c, i in zip(out.calls, ids, strict=True)
            ]
        if needs_outputs(out):
            self.runs.steps.save(step)
            self._count(run, out.usage.prompt_tokens, out.usage.completion_tokens)
            run["_steps"].append(step_to_json(out))
            run["required_action"] = {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {k: c["function"][k] for k in ("name", "arguments")},
                        }
                        for c in step["step_details"]["tool_calls"]
                        if c["type"] == "function"
                    ]
                },
            }
            self._emit_run(self.runs.set_status(run, "requires_action"))
            return None
        files = self._code_files(run) if any(isinstance(c, CodeInterpreterCall) for c in out.calls) else ()
        done = await asyncio.to_thread(
            execute_builtin_calls,
            out,
            inp,
            retriever=StoreRetriever(self.vector_stores, self._store_ids(run)),
            code_runner=self.sandbox.bound(origin=self.code_origin, files=files),
        )
        if (run := self._checkpoint(run)) is None:
            return None
        calls = [
            tool_call_to_api(c, i, inp, include_content=True) for c, i in zip(done.calls, ids, strict=True)
        ]
        for index, call in enumerate(calls):
            if call["type"] == "code_interpreter" and call["code_interpreter"]["outputs"]:
                outputs = [{"index": 0, **o} for o in call["code_interpreter"]["outputs"]]
                delta = {"index": index, "type": "code_interpreter", "code_interpreter": {"outputs": outputs}}
                self.bus.publish(run["id"], "thread.run.step.delta", step_delta(step["id"], [delta]))
        step["step_details"]["tool_calls"] = calls
        self._emit_step(run, "thread.run.step.completed", self.runs.steps.complete(step, _usage(out)))
        # Counted on the run as read after the tools ran, which is the copy saved below.
        self._count(run, out.usage.prompt_tokens, out.usage.completion_tokens)
        run["_steps"].append(step_to_json(done))
        self.runs.save(run)
        return run

    def _code_files(self, run: dict[str, Any]) -> tuple[SandboxFile, ...]:
        """The run's code_interpreter files (the assistant's, the thread's, the messages' attachments)."""
        store = self.runs.store
        assistant = self.assistants.get_assistant(run["assistant_id"])
        thread = self.assistants.get_thread(run["thread_id"])
        messages = store.all("messages", thread_id=run["thread_id"])
        return sandbox_files(store, code_file_ids(run, assistant, thread, messages))

    def _store_ids(self, run: dict[str, Any]) -> list[str]:
        assistant = self.assistants.get_assistant(run["assistant_id"])
        thread = self.assistants.get_thread(run["thread_id"])
        return search_store_ids(run, assistant, thread)

    async def _message_step(
        self, started: dict[str, Any], inp: ModelInput, events: AsyncGenerator[ModelEvent, None]
    ) -> dict[str, Any] | None:
        """A message step; when the model goes on to call tools in the same answer (the seam's message
        then `StepStart("tool_calls")`), the message is completed and the tool step follows."""
        run: dict[str, Any] | None = started
        assert run is not None
        message = self._new_message(run)
        step = self.runs.steps.create(run, "message_creation", {"message_id": message["id"]})
        self._emit_step(run, "thread.run.step.created", step)
        self._emit_step(run, "thread.run.step.in_progress", step)
        self.bus.publish(run["id"], "thread.message.created", streamed(message, "in_progress"))
        self.bus.publish(run["id"], "thread.message.in_progress", streamed(message, "in_progress"))
        written: list[str] = []
        cited: list[dict[str, Any]] = []
        plain = text_delta_template(message["id"])
        done: StepDone | None = None
        async for event in events:
            if isinstance(event, StepDone):
                done = event
                break
            if isinstance(event, StepStart) and event.kind == "tool_calls":
                # Text, then tool calls: the message is done (its usage is on the tool step, which
                # carries the whole answer), and the run goes on with the calls.
                value = {"value": "".join(written), "annotations": cited}
                message["content"] = [{"type": "text", "text": value}]
                self.runs.store.update("messages", message)
                self.bus.publish(run["id"], "thread.message.completed", streamed(message, "completed"))
                self._emit_step(run, "thread.run.step.completed", self.runs.steps.complete(step, (0, 0)))
                return await self._tool_step(run, inp, events)
            if not isinstance(event, TextDelta):
                continue
            if (run := self._checkpoint(run)) is None:
                # Cancelled or expired mid-message: the thread keeps what was written so far.
                value = {"value": "".join(written), "annotations": cited}
                message["content"] = [{"type": "text", "text": value}]
                self.runs.store.update("messages", message)
                return None
            if written and not event.citations:
                # The many plain deltas: the message's shape is encoded once, each delta's text alone.
                written.append(event.text)
                self.bus.publish_encoded(run["id"], "thread.message.delta", plain.fill(event.text))
                continue
            first = len(cited)
            piece: dict[str, Any] = {"value": event.text}
            piece["annotations"] = [
                delta_annotation(first + k, c.to_api()) for k, c in enumerate(event.citations)
            ]
            written.append(event.text)
            cited.extend(c.to_api() for c in event.citations)
            self.bus.publish(run["id"], "thread.message.delta", message_delta(message["id"], piece))
        if done is None or not isinstance(done.step, MessageStep):
            raise RuntimeError("a message step's stream must end with its MessageStep")
        out, cut = done.step, done.finish == "length"
        message["content"] = [
            {"type": "text", "text": {"value": out.text, "annotations": [c.to_api() for c in out.citations]}}
        ]
        self.runs.store.update("messages", message)
        self._count(run, out.usage.prompt_tokens, out.usage.completion_tokens)
        if cut:
            self.bus.publish(run["id"], "thread.message.incomplete", streamed(message, "incomplete"))
        else:
            self.bus.publish(run["id"], "thread.message.completed", streamed(message, "completed"))
        self._emit_step(run, "thread.run.step.completed", self.runs.steps.complete(step, _usage(out)))
        if cut:
            self._emit_run(self.runs.finish(run, "incomplete", reason="max_completion_tokens"))
        else:
            self._emit_run(self.runs.finish(run, "completed"))
        return None

    def _new_message(self, run: dict[str, Any]) -> dict[str, Any]:
        # Stored in part 1's shape: answered outside a stream, messages carry no status fields.
        message = {
            "id": new_id("msg"),
            "object": "thread.message",
            "created_at": now(),
            "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"],
            "run_id": run["id"],
            "role": "assistant",
            "content": [],
            "attachments": [],
            "metadata": {},
        }
        self.runs.store.insert(
            "messages",
            message,
            thread_id=run["thread_id"],
            run_id=run["id"],
            assistant_id=run["assistant_id"],
        )
        return message


def _usage(step: ToolCallsStep | MessageStep) -> tuple[int, int]:
    return step.usage.prompt_tokens, step.usage.completion_tokens
