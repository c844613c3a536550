"""The one error family. Anything raised as a RunnerError is a user-facing problem: exit 1, no traceback."""

from __future__ import annotations


class RunnerError(Exception):
    """A problem the user can fix; its message says what happened, where, and what to do.

    Its exit code is the command's own code for "could not do the job" (runner.cli: 2 for replay and diff,
    1 for the others) unless a subclass names one."""

    exit_code: int | None = None


class NothingSelected(RunnerError):
    """The user's own selection (names, -k) matched no scenario: exit 5, as pytest."""

    exit_code = 5


class ConfigError(RunnerError):
    """Bad or contradictory configuration (flags, environment, .env)."""


class ValidationFailed(RunnerError):
    """Project files did not validate; the diagnostics were already printed."""


class ApiError(RunnerError):
    """The API answered with an error that arun cannot recover from."""


class ApiNotFound(ApiError):
    """The API answered 404 for an object arun asked about."""


class HostedApiGone(ApiError):
    """The hosted Assistants API at api.openai.com was shut down on 2026-08-26."""
