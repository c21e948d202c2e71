"""Shared fixtures: a real S3 server (SeaweedFS on loopback) and one real Prefect API per session."""

from __future__ import annotations


import pytest

pytest_plugins = ["tests.conftest_s3"]


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect API for the session (prefect_test_harness: a temporary local server + database)."""
    import os

    from prefect.testing.utilities import prefect_test_harness

    # offline: the server's telemetry heartbeat only fails (and raced the migrations: "database is locked")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def campaign():
    from formintake.config import load_campaign

    return load_campaign("2023")
