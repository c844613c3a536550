"""The simulated model: one deterministic step at a time. Same input, same output, byte for byte; the model
name and temperature are accepted and ignored."""

from __future__ import annotations

from runner.sim.policy import Context, decide
from runner.sim.reply import compose
from runner.sim.tokens import completion_tokens, prompt_tokens
from runner.sim.types import MessageStep, ModelInput, ModelStep, ToolCallsStep, Usage


class Simulator:
    """Implements `runner.sim.types.Model`."""

    def step(self, inp: ModelInput) -> ModelStep:
        ctx = Context.of(inp)
        prompt = prompt_tokens(inp)
        calls = decide(inp, ctx)
        if calls:
            return ToolCallsStep(calls, Usage(prompt, completion_tokens(calls)))
        text, citations = compose(inp, ctx)
        return MessageStep(text, citations, Usage(prompt, completion_tokens(text)))
