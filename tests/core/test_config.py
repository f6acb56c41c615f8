"""Settings read the environment by pydantic-settings' rules (which configured them before; the class is
now standard library only, to keep pydantic-settings off every command's start-up): checked against a
pydantic-settings model declared from the same fields."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from cxchange.core.config import PARSED_KINDS, Settings, _parse, get_settings

TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool, "str | None": str | None}


class _Reference(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CXCHANGE_", extra="ignore")


def reference(**values: Any) -> BaseSettings:
    fields: dict[str, Any] = {
        f.name: (TYPES[str(f.type)], f.default) for f in dataclasses.fields(Settings)
    }  # every field a str, int, float, bool or str | None: a new kind of field must be added here
    model = create_model("Reference", __base__=_Reference, **fields)
    return model(**values)


def as_dict(settings: Any) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(Settings)}


ENVIRONMENTS = [
    {},
    {"CXCHANGE_DATABASE_URL": "sqlite:///x.db", "CXCHANGE_COLUMNAR": "false", "CXCHANGE_MIN_N": "12"},
    {"cxchange_columnar": "No", "CxChange_Db_Pool_Timeout": "2.5", "CXCHANGE_SMTP_HOST": ""},
    {"CXCHANGE_SMTP_STARTTLS": "on", "CXCHANGE_DASK_SCHEDULER": "tcp://h:8786", "CXCHANGE_SECRET_KEY": "k"},
    {"CXCHANGE_COLUMNAR": "1", "CXCHANGE_SMTP_STARTTLS": "T", "CXCHANGE_MAX_UPLOAD_MB": " 300 "},
    {"CXCHANGE_COLUMNAR": "y", "CXCHANGE_SMTP_STARTTLS": "OFF", "CXCHANGE_NOT_A_SETTING": "ignored"},
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_read_as_pydantic_settings_read_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in __import__("os").environ if n.upper().startswith("CXCHANGE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert as_dict(Settings()) == as_dict(reference())
    # keyword arguments win over the environment; unknown ones are ignored
    kwargs = {"min_n": 3, "smtp_host": None, "nonsense": 1}
    assert as_dict(Settings(**kwargs)) == as_dict(reference(**kwargs))


@pytest.mark.parametrize(
    ("name", "value"), [("CXCHANGE_COLUMNAR", "maybe"), ("CXCHANGE_DB_POOL_SIZE", "five")]
)
def test_a_bad_value_is_refused_naming_the_variable(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings()
    with pytest.raises(ValueError):  # pydantic-settings refused it too
        reference()


@pytest.mark.parametrize(
    ("name", "value", "least"),
    [
        ("CXCHANGE_DB_POOL_SIZE", "-1", 1),
        ("CXCHANGE_ANALYSIS_CONCURRENCY", "0", 1),  # was taken as 1 without a word
        ("CXCHANGE_SESSION_HOURS", "0", 1),
        ("CXCHANGE_LOGIN_DELAY_SECONDS", "-2", 0),
    ],
)
def test_a_number_below_the_least_that_means_anything_is_refused(
    name: str, value: str, least: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=rf"^{name}: expected at least {least}, got {value}$"):
        Settings()
    monkeypatch.setenv(name, str(least))
    assert getattr(Settings(), name.removeprefix("CXCHANGE_").lower()) == least
    with pytest.raises(ValueError, match=name):  # a keyword value is held to it too
        Settings(**{name.removeprefix("CXCHANGE_").lower(): int(value)})


def test_a_bad_trusted_proxy_is_refused_when_the_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not by the first request behind the proxy (each sign-in and survey answer then failed with it)."""
    monkeypatch.setenv("CXCHANGE_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.0/33")
    with pytest.raises(
        ValueError, match=r"^CXCHANGE_TRUSTED_PROXIES: not an address or network: '10.0.0.0/33'$"
    ):
        Settings()
    monkeypatch.setenv("CXCHANGE_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.0/8")
    assert Settings().trusted_proxies == "10.0.0.1, 10.0.0.0/8"  # kept as given; auth/throttle.py reads it


def test_get_settings_is_read_once() -> None:
    assert get_settings() is get_settings()


def test_every_field_has_a_type_the_environment_can_set() -> None:
    assert {str(field.type) for field in dataclasses.fields(Settings)} <= PARSED_KINDS


def test_a_type_without_a_parser_is_refused_not_passed_as_text() -> None:
    with pytest.raises(TypeError, match=r"CXCHANGE_LIMIT: settings of type int \| None"):
        _parse("limit", "int | None", "5")


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("CXCHANGE_MIN_N", "abc", "CXCHANGE_MIN_N: expected int, got 'abc'"),
        ("CXCHANGE_DB_POOL_SIZE", "0", "CXCHANGE_DB_POOL_SIZE: expected at least 1, got 0"),
    ],
)
def test_a_bad_setting_stops_a_command_with_one_line_not_a_traceback(
    tmp_path: Any, variable: str, value: str, said: str
) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CXCHANGE_")} | {variable: value}
    db = f"sqlite:///{tmp_path / 'x.db'}"
    run = subprocess.run(
        [sys.executable, "-m", "cxchange", "scores", "--db", db], env=env, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert run.stderr.strip() == f"error: {said}"
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_pulse_comments_are_never_released_in_groups_smaller_than_three(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group of 1 would release each comment right after its answer, in the answers' order."""
    monkeypatch.setenv("CXCHANGE_PULSE_COMMENT_GROUP", "2")
    with pytest.raises(ValueError, match="CXCHANGE_PULSE_COMMENT_GROUP: expected at least 3, got 2"):
        Settings()
    monkeypatch.setenv("CXCHANGE_PULSE_COMMENT_GROUP", "3")
    assert Settings().pulse_comment_group == 3
