"""FORMINTAKE_* settings: one model, the environment over .env, nothing written to os.environ."""

from __future__ import annotations

import os

import pytest

from formintake.config import default_campaign_id, s3_settings
from formintake.settings import ConfigError, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for k in list(os.environ):
        if k.startswith("FORMINTAKE_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dotenv_is_read_and_the_environment_wins(clean_env, monkeypatch):
    (clean_env / ".env").write_text("FORMINTAKE_S3_ENDPOINT=127.0.0.1:9000\nFORMINTAKE_RESULTS_PREFIX=/runs/\n"
                                    "FORMINTAKE_CAMPAIGN='2024'\nOTHER=x\n")
    monkeypatch.setenv("FORMINTAKE_RESULTS_BUCKET", "mine")
    s = s3_settings()
    assert (s.endpoint, s.results_prefix, s.results_bucket, s.uploads_bucket) == ("127.0.0.1:9000", "runs", "mine", "uploads")
    assert default_campaign_id() == "2024"
    assert "FORMINTAKE_S3_ENDPOINT" not in os.environ and "OTHER" not in os.environ  # .env never leaks into os.environ
    monkeypatch.setenv("FORMINTAKE_S3_ENDPOINT", "")  # set but empty: unset
    assert s3_settings().endpoint is None


def test_defaults_and_secrets_not_in_repr(clean_env, monkeypatch):
    s = load_settings()
    assert (s.s3_endpoint, s.campaign, s.log_level, s.s3_secure) == (None, "2023", "WARNING", False)
    monkeypatch.setenv("FORMINTAKE_S3_SECRET_KEY", "topsecret-value")
    assert "topsecret-value" not in repr(load_settings()) and "topsecret-value" not in repr(s3_settings())


def test_a_bad_value_is_a_config_error(clean_env, monkeypatch):
    monkeypatch.setenv("FORMINTAKE_S3_SECURE", "perhaps")
    with pytest.raises(ConfigError, match="FORMINTAKE_S3_SECURE"):
        s3_settings()
