"""Pytest plugin: a REAL S3 server (SeaweedFS ``weed mini`` on 127.0.0.1, free ports) for the session.

Fixtures
    s3_server   session: a started :class:`formintake.s3server.LocalS3` (attributes endpoint, access_key,
                secret_key, env(), settings(), client()). If it cannot start the requesting tests FAIL
                (never skip) with the server log's tail.
    s3_buckets  function: ``(uploads, results)`` — fresh S3Stores on unique buckets; uploads has versioning on.
    s3_env      function: the FORMINTAKE_S3_* variables of the server plus FORMINTAKE_UPLOADS_BUCKET /
                FORMINTAKE_RESULTS_BUCKET naming the ``s3_buckets`` buckets (monkeypatched, undone after);
                yields ``(uploads, results)`` like s3_buckets.

Under pytest-xdist every worker starts its own server (ports are picked free, so they do not collide).
"""

from __future__ import annotations

import secrets

import pytest

from formintake.s3server import LocalS3, S3ServerError


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = LocalS3(tmp_path_factory.mktemp("s3server"))
    try:
        server.start(timeout=60)
    except S3ServerError as exc:
        server.stop()
        pytest.fail(f"local S3 server (SeaweedFS) did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


def _bucket(kind: str) -> str:
    return f"t-{kind}-{secrets.token_hex(5)}"  # S3 bucket names: 3-63 chars, lowercase, digits, hyphens


@pytest.fixture()
def s3_buckets(s3_server):
    from formintake.storage.s3 import S3Store

    if not s3_server.running:
        pytest.fail("local S3 server is no longer running; log tail:\n" + s3_server.log_tail(), pytrace=False)
    client = s3_server.client()
    uploads = S3Store(client, _bucket("uploads"))
    results = S3Store(client, _bucket("results"))
    uploads.ensure_bucket(versioning=True)
    results.ensure_bucket(versioning=False)
    return uploads, results


@pytest.fixture()
def s3_env(s3_server, s3_buckets, monkeypatch):
    uploads, results = s3_buckets
    for k, v in s3_server.env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("FORMINTAKE_UPLOADS_BUCKET", uploads.bucket)
    monkeypatch.setenv("FORMINTAKE_RESULTS_BUCKET", results.bucket)
    monkeypatch.delenv("FORMINTAKE_RESULTS_PREFIX", raising=False)
    return uploads, results
