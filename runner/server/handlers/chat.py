"""Chat Completions: `POST /chat/completions` over the model seam (the simulator, or the upstream adapter)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runner.server.chat_stream import ChatTurn, finished, frames
from runner.server.handlers._common import answer, backend, body
from runner.server.models import chat
from runner.server.streaming import EventStreamResponse


async def create_chat_completion(request: Request) -> Response:
    engine = backend(request).engine
    refused = engine.settings.faults.request_fault()
    if refused is not None:
        raise refused
    payload = await body(request, "CreateChatCompletionRequest")
    chat.check(payload)
    inp = chat.model_input(payload)
    include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
    turn = ChatTurn(model=str(payload["model"]), legacy="functions" in payload, include_usage=include_usage)
    if payload.get("stream"):
        return EventStreamResponse(frames(engine.model, inp, turn), engine.settings.faults.stream_cut())
    done = await finished(engine.model, inp)
    return answer(turn.whole(done))
