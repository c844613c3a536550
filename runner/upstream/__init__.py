"""The upstream adapter: a `Model` that asks any OpenAI-compatible Chat Completions endpoint for each step
of a run (docs/upstream.md). `transformation` holds every shape translation; nothing else builds requests."""
