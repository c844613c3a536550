"""Chat Completions: `POST /chat/completions` over the model seam (the simulator, or the upstream adapter)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runner.server.chat_stream import ChatTurn, finished, frames
from runner.server.exceptions import ApiError, InvalidRequest
from runner.server.handlers._common import answer, backend, body
from runner.server.models import chat
from runner.server.streaming import EventStreamResponse
from runner.sim.types import ContextOverflow, ModelFailure


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
    try:
        done = await finished(engine.model, inp)
    except ModelFailure as failure:
        raise model_error(failure) from None
    except ContextOverflow as overflow:
        raise InvalidRequest(str(overflow), "messages", "context_length_exceeded") from None
    return answer(turn.whole(done))


def model_error(failure: ModelFailure) -> ApiError:
    """The API error for a model that could not answer (the upstream adapter's failures)."""
    error = ApiError(failure.message, None, failure.code)
    error.status = 429 if failure.code == "rate_limit_exceeded" else 500
    error.type = "requests" if error.status == 429 else "server_error"
    return error
