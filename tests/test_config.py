from __future__ import annotations

from pathlib import Path

import pytest

from runner.config import NO_KEY, Backend, read_environment, resolve_settings
from runner.errors import ConfigError, HostedApiGone

SECRET = "test-not-a-real-key-0123456789"


def test_nothing_configured_means_the_embedded_local_server(tmp_path: Path) -> None:
    settings = resolve_settings(tmp_path, environ={})
    assert settings.backend is Backend.LOCAL
    assert settings.local_db == tmp_path / ".arun" / "local.db"
    assert settings.describe() == f"embedded local server (state in {tmp_path / '.arun' / 'local.db'})"


def test_base_url_from_the_environment(tmp_path: Path) -> None:
    settings = resolve_settings(
        tmp_path, environ={"OPENAI_BASE_URL": "http://127.0.0.1:8787/v1/", "OPENAI_API_KEY": SECRET}
    )
    assert (settings.backend, settings.base_url, settings.api_key) == (
        Backend.REMOTE,
        "http://127.0.0.1:8787/v1",
        SECRET,
    )
    assert settings.describe() == "http://127.0.0.1:8787/v1 (from OPENAI_BASE_URL)"


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "OPENAI_API_KEY": "from-env"}
    settings = resolve_settings(tmp_path, base_url="http://127.0.0.1:2/v1", api_key="from-flag", environ=env)
    assert (settings.base_url, settings.api_key, settings.source) == (
        "http://127.0.0.1:2/v1",
        "from-flag",
        "--base-url",
    )


def test_dotenv_fills_in_but_never_overrides_the_real_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_BASE_URL=http://127.0.0.1:9/v1\nOPENAI_API_KEY=from-dotenv\n")
    assert read_environment(tmp_path, {"OPENAI_API_KEY": "real"}) == {
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
        "OPENAI_API_KEY": "real",
    }
    settings = resolve_settings(tmp_path, environ={})
    assert (settings.base_url, settings.api_key) == ("http://127.0.0.1:9/v1", "from-dotenv")


def test_dotenv_is_not_loaded_into_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ARUN_TEST_ONLY=1\n")
    resolve_settings(tmp_path)
    import os

    assert "ARUN_TEST_ONLY" not in os.environ


def test_a_server_without_a_key_gets_a_placeholder(tmp_path: Path) -> None:
    assert resolve_settings(tmp_path, base_url="http://127.0.0.1:8787/v1", environ={}).api_key == NO_KEY


def test_local_flag_wins_over_environment_but_not_with_base_url(tmp_path: Path) -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}
    assert resolve_settings(tmp_path, local=True, environ=env).backend is Backend.LOCAL
    with pytest.raises(ConfigError, match="--local and --base-url contradict each other"):
        resolve_settings(tmp_path, local=True, base_url="http://127.0.0.1:1/v1", environ={})


def test_key_without_base_url_says_the_hosted_api_is_gone(tmp_path: Path) -> None:
    with pytest.raises(HostedApiGone) as caught:
        resolve_settings(tmp_path, environ={"OPENAI_API_KEY": SECRET})
    assert "shut down its hosted Assistants API on 2026-08-26" in str(caught.value)
    assert "--base-url" in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(HostedApiGone):
        resolve_settings(tmp_path, base_url="https://api.openai.com/v1", environ={})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:8787/v1", "is not an http(s) URL"),
        ("ftp://host/v1", "is not an http(s) URL"),
        (
            "http://127.0.0.1:8787",
            "has no path; Assistants servers serve under /v1: use http://127.0.0.1:8787/v1",
        ),
    ],
)
def test_bad_base_urls(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_settings(tmp_path, base_url=url, environ={})


def test_the_key_never_shows_in_repr(tmp_path: Path) -> None:
    settings = resolve_settings(tmp_path, base_url="http://127.0.0.1:1/v1", api_key=SECRET, environ={})
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert "api_key=<set>" in repr(settings)
