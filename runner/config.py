"""Where the API is: flags, then the real environment, then `.env`; the embedded local server otherwise.

The `.env` file is read with python-dotenv but never loaded into `os.environ`, so it can neither override
the real environment nor leak into subprocesses. API keys are never printed: `Settings` masks its key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from runner.errors import ConfigError, HostedApiGone

HOSTED_API_HOST = "api.openai.com"
DEFAULT_LOCAL_DB = Path(".arun") / "local.db"
MODEL_TIME_VAR = "ARUN_MODEL_TIME"
# Sent to servers that need no key: the SDK insists on one.
NO_KEY = "arun-no-key"

HOSTED_GONE_MESSAGE = (
    "OpenAI shut down its hosted Assistants API on 2026-08-26, so api.openai.com no longer serves it. "
    "Point arun at a compatible server with --base-url URL or OPENAI_BASE_URL (for example "
    "http://127.0.0.1:8787/v1 from `arun serve`), or drop OPENAI_API_KEY / pass --local to use the "
    "embedded local server."
)


def find_root(start: Path) -> Path:
    """The project root: the nearest folder from `start` upward that holds assistants/ (as git finds
    .git); `start` itself when none does, so that the commands' own messages say what is missing."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "assistants").is_dir():
            return folder
    return start


class Backend(Enum):
    LOCAL = "local"
    REMOTE = "remote"


@dataclass(frozen=True)
class Settings:
    backend: Backend
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    local_db: Path = DEFAULT_LOCAL_DB
    source: str = "default"
    # The embedded server's simulated seconds per model step: 0 runs at the machine's speed; ARUN_MODEL_TIME
    # or replay's --model-time set one to watch replies stream (docs/replay.md).
    model_time: float = 0.0

    def __repr__(self) -> str:
        key = "set" if self.api_key else "unset"
        return f"Settings(backend={self.backend.value}, base_url={self.base_url!r}, api_key=<{key}>, source={self.source})"

    def describe(self) -> str:
        if self.backend is Backend.LOCAL:
            return f"embedded local server (state in {self.local_db})"
        return f"{self.base_url} (from {self.source})"


def read_environment(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The real environment laid over the project's `.env`; the real environment always wins."""
    real = dict(os.environ if environ is None else environ)
    dotenv_path = root / ".env"
    # Imported here: the commands that never read configuration (validate, diff, --help) skip its cost.
    from dotenv import dotenv_values

    from_file = (
        {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
        if dotenv_path.is_file()
        else {}
    )
    return {**from_file, **real}


def _check_base_url(url: str, source: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"base URL {url!r} (from {source}) is not an http(s) URL, e.g. http://127.0.0.1:8787/v1"
        )
    if parts.path in ("", "/"):
        raise ConfigError(
            f"base URL {url!r} (from {source}) has no path; Assistants servers serve under /v1: "
            f"use {url.rstrip('/')}/v1"
        )
    if parts.hostname == HOSTED_API_HOST:
        raise HostedApiGone(HOSTED_GONE_MESSAGE)
    return url.rstrip("/")


def resolve_settings(
    root: Path,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    local: bool = False,
    local_db: Path | None = None,
    model_time: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    env = read_environment(root, environ)
    db = local_db or root / DEFAULT_LOCAL_DB
    pace = model_time if model_time is not None else _model_time(env)
    if local:
        if base_url:
            raise ConfigError("--local and --base-url contradict each other: use one of them")
        return Settings(Backend.LOCAL, local_db=db, source="--local", model_time=pace)
    if base_url:
        url, source = base_url, "--base-url"
    elif env.get("OPENAI_BASE_URL"):
        url, source = env["OPENAI_BASE_URL"], "OPENAI_BASE_URL"
    else:
        url, source = "", ""
    key = api_key or env.get("OPENAI_API_KEY") or None
    if url:
        return Settings(
            Backend.REMOTE, base_url=_check_base_url(url, source), api_key=key or NO_KEY, source=source
        )
    if key:
        # A key and no base URL used to mean api.openai.com; its Assistants API is gone.
        raise HostedApiGone(HOSTED_GONE_MESSAGE)
    return Settings(Backend.LOCAL, local_db=db, source="default", model_time=pace)


def _model_time(env: Mapping[str, str]) -> float:
    text = env.get(MODEL_TIME_VAR, "").strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise ConfigError(
            f"{MODEL_TIME_VAR}={text!r} is not a number of seconds between 0 and 60 "
            "(the embedded server's simulated time per model step, e.g. 0.5)"
        )
    return value
