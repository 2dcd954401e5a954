"""Settings are one typed object and no secret has a default in code (issue 14, item 11)."""

from __future__ import annotations

import re

import pytest

from tocsin.config import Settings

SECRET_NAME = re.compile(r"secret|token|key|password|auth|smtp_url|sid")


def test_no_secret_setting_has_a_default_value():
    secrets = {name: field for name, field in Settings.model_fields.items()
               if SECRET_NAME.search(name) and field.annotation is not int}
    assert {"secret_key", "twilio_auth_token", "slack_bot_token", "smtp_url"} <= set(secrets)
    assert {name: f.default for name, f in secrets.items() if f.default is not None} == {}


def test_each_installation_generates_its_own_server_key(tmp_path, monkeypatch):
    monkeypatch.delenv("TOCSIN_SECRET_KEY", raising=False)
    first = Settings(data_dir=tmp_path / "a").resolved_secret_key()
    second = Settings(data_dir=tmp_path / "b").resolved_secret_key()
    assert first != second, "no built-in key: two installations never share one"
    assert Settings(data_dir=tmp_path / "a").resolved_secret_key() == first, "kept across restarts"


@pytest.mark.parametrize("name", ["secret_key", "audit_key"])
def test_an_empty_kept_key_file_is_refused_rather_than_used(tmp_path, monkeypatch, name):
    """An empty data_dir/secret_key made links and sessions signed with the empty string (forgeable)."""
    monkeypatch.delenv("TOCSIN_SECRET_KEY", raising=False)
    monkeypatch.delenv("TOCSIN_AUDIT_KEY", raising=False)
    tmp_path.joinpath(name).write_text(" \n")
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValueError, match="is empty"):
        getattr(settings, f"resolved_{name}")()
