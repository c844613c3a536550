"""GET /models and GET /models/{model}: the connection check clients make, answered in the spec's shapes."""

from __future__ import annotations

import openai
import pytest

from runner.server.models.catalog import model_ids


def test_list_models_holds_the_models_assistants_may_name(client: openai.OpenAI) -> None:
    listed = [m.id for m in client.models.list()]
    assert listed == list(model_ids())
    assert {"gpt-4o", "gpt-4o-mini", "gpt-4.1-mini"} <= set(listed)
    first = client.models.list().data[0]
    assert (first.object, first.owned_by) == ("model", "system")


def test_retrieve_model_answers_for_any_name_the_simulator_accepts(client: openai.OpenAI) -> None:
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    # Any model string makes an assistant, so any name is answered for, fine-tuned ids included.
    assert client.models.retrieve("ft:gpt-4o-mini:acme::abc123").id == "ft:gpt-4o-mini:acme::abc123"
    assert client.models.retrieve("meta-llama/Llama-3-8B").id == "meta-llama/Llama-3-8B"


def test_retrieve_model_refuses_an_overlong_id(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.models.retrieve("m" * 300)
    assert caught.value.body["param"] == "model"  # type: ignore[index]


def test_models_need_the_key(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError):
        client.with_options(api_key="wrong-made-up-key").models.list()
