"""Password hashing: production uses argon2-cffi's strong defaults; the tests' cheap setting is a
setting (TOCSIN_PASSWORD_*), and hashes made with other parameters keep verifying."""

from __future__ import annotations

import argon2
import pytest

from tocsin.config import Settings
from tocsin.users import service as users


class _Stored:
    def __init__(self, password_hash: str) -> None:
        self.password_hash = password_hash


def test_production_settings_hash_with_argon2s_strong_defaults(production_password_hashing, tmp_path):
    """With no TOCSIN_PASSWORD_* in the environment, the app (configured at its start from its
    settings) makes hashes that carry argon2-cffi's default time, memory and parallelism."""
    from tocsin.app import create_app
    from tocsin.db import Database

    users.configure_password_hashing(time_cost=1, memory_kib=8, parallelism=1)  # as if a test had left it cheap
    db = Database(f"sqlite:///{tmp_path / 'unused.db'}")
    try:
        app = create_app(settings=Settings(secret_key="k"), db=db)
        app.state.ingest.close()
    finally:
        db.dispose()
    params = argon2.extract_parameters(users.hash_password("correct horse battery"))
    default = argon2.PasswordHasher()
    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (
        argon2.Type.ID, default.time_cost, default.memory_cost, default.parallelism)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)


def test_the_cheap_test_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TOCSIN_PASSWORD_TIME_COST", "2")
    monkeypatch.setenv("TOCSIN_PASSWORD_MEMORY_KIB", "64")
    monkeypatch.setenv("TOCSIN_PASSWORD_PARALLELISM", "2")
    assert Settings().password_hashing() == {"time_cost": 2, "memory_kib": 64, "parallelism": 2}


def test_hashes_made_with_other_parameters_still_verify(production_password_hashing):
    strong = users.hash_password("correct horse battery")
    users.configure_password_hashing(time_cost=1, memory_kib=8, parallelism=1)
    cheap = users.hash_password("correct horse battery")
    assert users.check_password(_Stored(strong), "correct horse battery")
    assert not users.check_password(_Stored(strong), "wrong horse battery")
    users.configure_password_hashing(**Settings().password_hashing())
    assert users.check_password(_Stored(cheap), "correct horse battery")
    assert not users.check_password(_Stored(cheap), "wrong horse battery")


@pytest.mark.parametrize("field", ["password_time_cost", "password_memory_kib", "password_parallelism"])
def test_nonsense_costs_are_refused(field):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(**{field: 0})
