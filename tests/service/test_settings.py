"""Settings: EKYC_ environment, embedded defaults, refused development secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from service.settings import DEV_SECRET, Settings, get_settings

STRONG = "s" * 48


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch):

    for name in [n for n in os.environ if n.startswith("EKYC_")]:
        monkeypatch.delenv(name)


class TestDefaults:
    def test_no_configuration_runs_on_the_embedded_defaults(self):
        settings = Settings()
        assert settings.env == "development"
        assert settings.secret_key.get_secret_value() == DEV_SECRET
        assert settings.resolved_database_url == f"sqlite:///{Path('ekyc-data') / 'loanflow.db'}"
        assert settings.migrate_on_start
        assert settings.cpu_workers >= 1

    def test_environment_with_the_prefix(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("EKYC_DATABASE_URL", "postgresql+psycopg://db/loans")
        monkeypatch.setenv("EKYC_SMTP_PORT", "2525")
        monkeypatch.setenv("EKYC_RATE_LOGIN", '{"per_minute": 3, "burst": 2}')
        monkeypatch.setenv("EKYC_ALLOWED_ORIGINS", '["https://loan.rokin.example"]')
        settings = Settings()
        assert settings.resolved_database_url == "postgresql+psycopg://db/loans"
        assert settings.smtp_port == 2525
        assert (settings.rate_login.per_minute, settings.rate_login.burst) == (3, 2)
        assert settings.allowed_origins == ("https://loan.rokin.example",)

    def test_get_settings_is_built_once(self):
        get_settings.cache_clear()
        try:
            assert get_settings() is get_settings()
        finally:
            get_settings.cache_clear()


class TestSecrets:
    @pytest.mark.parametrize("env", ["test", "staging", "production"])
    def test_default_secret_refused_outside_development(self, env: str):
        with pytest.raises(ValidationError, match="EKYC_SECRET_KEY"):
            Settings.model_validate({"env": env})

    def test_default_secret_refused_from_the_environment(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("EKYC_ENV", "production")
        with pytest.raises(ValidationError, match="EKYC_SECRET_KEY"):
            Settings()
        monkeypatch.setenv("EKYC_SECRET_KEY", STRONG)
        assert Settings().env == "production"

    def test_short_secret_refused(self):
        with pytest.raises(ValidationError, match="32"):
            Settings(env="production", secret_key=SecretStr("short-but-not-default"))

    def test_weak_password_hashing_refused_outside_development(self):
        with pytest.raises(ValidationError, match="argon2"):
            Settings(env="production", secret_key=SecretStr(STRONG), argon2_memory_kib=8)
        assert Settings(env="development", argon2_memory_kib=8).argon2_memory_kib == 8

    def test_staff_tokens_are_digests(self):
        with pytest.raises(ValidationError, match="sha256"):
            Settings(staff_token_sha256={"reviewer-1": "plain-token"})

    def test_secret_not_shown(self):
        assert STRONG not in repr(Settings(env="production", secret_key=SecretStr(STRONG)))
