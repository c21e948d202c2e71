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


def test_extraction_settings_come_from_the_model_and_dotenv(clean_env, monkeypatch):
    from formintake.extractors.convert import find_soffice
    from formintake.extractors.isolated import default_workers, isolation_enabled

    assert isolation_enabled() and load_settings().workers is None
    (clean_env / ".env").write_text("FORMINTAKE_WORKERS=3\nFORMINTAKE_ISOLATE=off\n")
    assert default_workers() == 3 and not isolation_enabled()  # .env counts, as for every setting
    monkeypatch.setenv("FORMINTAKE_ISOLATE", "1")  # the environment wins, and a change is seen at once
    assert isolation_enabled()
    monkeypatch.setenv("FORMINTAKE_ISOLATE", "")  # set but empty: the default
    assert isolation_enabled()
    monkeypatch.setenv("FORMINTAKE_SOFFICE", "none")
    assert find_soffice() is None
    monkeypatch.setenv("FORMINTAKE_SOFFICE", "")  # set but empty (compose passes it so): PATH, as when unset
    empty = find_soffice()
    monkeypatch.delenv("FORMINTAKE_SOFFICE")
    assert empty == find_soffice()
    monkeypatch.setenv("FORMINTAKE_WORKERS", "0")
    with pytest.raises(ConfigError, match="FORMINTAKE_WORKERS"):
        default_workers()
    monkeypatch.setenv("FORMINTAKE_WORKERS", "2")
    monkeypatch.setenv("FORMINTAKE_ISOLATE", "perhaps")
    with pytest.raises(ConfigError, match="FORMINTAKE_ISOLATE"):
        isolation_enabled()


def test_the_dotenv_file_is_read_again_when_it_changes(clean_env):
    (clean_env / ".env").write_text("FORMINTAKE_LOG_FILE=/tmp/a.log\n")
    assert load_settings().log_file == "/tmp/a.log"
    (clean_env / ".env").write_text("FORMINTAKE_LOG_FILE=/tmp/bb.log\n")
    assert load_settings().log_file == "/tmp/bb.log"


def test_no_module_reads_a_formintake_variable_itself():
    """Every FORMINTAKE_* setting goes through formintake/settings.py (one model, .env included)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    direct = re.compile(r"(environ|getenv)\b[^\n]*FORMINTAKE_|FORMINTAKE_\w*[\"'] +(not )?in +os\.environ")
    offenders = [f"{p.relative_to(root)}:{i}" for folder in ("formintake", "extractors", "validators", "storage", "flows")
                 for p in (root / folder).rglob("*.py") if p.name != "settings.py"
                 for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if direct.search(line)]
    assert offenders == []
