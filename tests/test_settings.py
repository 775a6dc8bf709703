"""Settings: the environment variables of the README's Configuration table, parsed by pydantic-settings."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from pipeline.errors import SettingsError
from pipeline.settings import DEFAULT_LOCAL_MODEL, Settings, Variables, environment_variables


def test_no_variables_means_the_defaults_and_the_embedded_model():
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({}).uses_embedded_model


def test_each_variable_sets_its_setting(tmp_path):
    env = {
        "KB_DATABASE_URL": "postgresql://kb@db/kb",
        "KB_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "KB_LLM_API_KEY": "sk-a",
        "KB_LLM_MODEL": "m",
        "KB_LLM_CONCURRENCY": "7",
        "KB_PROCESSES": "3",
        "KB_HOME": str(tmp_path),
        "KB_ALLOW_PRIVATE_URLS": "yes",
    }
    settings = Settings.from_env(env)
    assert (settings.database_url, settings.llm_base_url, settings.llm_api_key, settings.llm_model) == (
        "postgresql://kb@db/kb",
        "http://127.0.0.1:9/v1",
        "sk-a",
        "m",
    )
    assert (settings.llm_concurrency, settings.processes, settings.home, settings.allow_private_urls) == (
        7,
        3,
        Path(tmp_path),
        True,
    )
    assert "sk-a" not in repr(settings)


def test_the_process_environment_is_read_and_empty_values_count_as_unset(monkeypatch):
    monkeypatch.setenv("KB_PROCESSES", "2")
    monkeypatch.setenv("KB_DATABASE_URL", "")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    settings = Settings.from_env()
    assert (settings.processes, settings.database_url) == (2, Settings.database_url)
    assert (settings.llm_api_key, settings.llm_model) == ("sk-openai", "gpt-4o-mini")  # a key: a hosted model


def test_kb_llm_api_key_wins_over_openai_api_key_and_overrides_win_over_both():
    env = {"KB_LLM_API_KEY": "sk-kb", "OPENAI_API_KEY": "sk-openai", "KB_LLM_MODEL": "local:qwen-0.5b"}
    assert Settings.from_env(env).llm_api_key == "sk-kb"
    assert Settings.from_env(env).uses_embedded_model  # a local: model is embedded whatever the key
    assert Settings.from_env(env, llm_model=DEFAULT_LOCAL_MODEL, processes=None).llm_model == DEFAULT_LOCAL_MODEL


@pytest.mark.parametrize(
    "name, value",
    [
        ("KB_PROCESSES", "many"),
        ("KB_PROCESSES", "0"),
        ("KB_LLM_CONCURRENCY", "-1"),
        ("KB_ALLOW_PRIVATE_URLS", "perhaps"),
    ],
)
def test_a_value_that_does_not_parse_is_an_error_naming_the_variable(name, value):
    with pytest.raises(SettingsError, match=f"{name}: .*{value!r}"):
        Settings.from_env({name: value})


def test_every_variable_sets_a_field_of_settings():
    assert set(Variables.model_fields) <= {f.name for f in fields(Settings)}
    assert len(environment_variables()) == len(set(environment_variables())) == len(Variables.model_fields) + 1
