"""arun: OpenAI-style assistants as code."""

__version__ = "0.1.0"
