"""Storage against a REAL S3 server (SeaweedFS on loopback, no mocks) and a local folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import urllib3
from minio.error import S3Error

from formintake.s3server import LocalS3
from formintake.storage import LocalStore, ObjectVersion, S3Store, is_transient, retrying
from formintake.storage.s3 import from_settings, make_client
from formintake.storage.base import NAME_CONTROL

KEY = "2023/江苏省/南京 某某科技 有限公司 申报书（修订版）.docx"


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def _utc(s: str) -> dt.datetime:
    d = dt.datetime.fromisoformat(s)
    assert d.utcoffset() == dt.timedelta(0), s
    return d


# ------------------------------------------------------------------------------------------------ S3


@pytest.mark.integration
def test_versions_listed_with_distinct_ids(s3_buckets):
    uploads, _ = s3_buckets
    assert uploads.versioning_enabled()
    bodies = [b"first", b"second version", b"third!"]
    put_ids = [uploads.put(KEY, b) for b in bodies]
    uploads.put("2023/深圳市/other.pdf", b"%PDF-1.4 other")

    versions = uploads.list_versions("2023/")
    mine = [v for v in versions if v.key == KEY]
    assert len(mine) == 3
    ids = [v.version_id for v in mine]
    assert all(ids) and len(set(ids)) == 3
    assert ids == put_ids  # oldest first, even when the server's timestamps tie (1 s resolution)
    assert [v.etag for v in mine] == [_md5(b) for b in bodies]  # no quotes
    assert [v.size for v in mine] == [len(b) for b in bodies]
    assert [v.is_latest for v in mine] == [False, False, True]
    for v in versions:
        assert isinstance(v, ObjectVersion)
        _utc(v.last_modified)
    # sorted by key, then time
    assert [v.key for v in versions] == sorted(v.key for v in versions)
    assert [v.last_modified for v in mine] == sorted(v.last_modified for v in mine)


@pytest.mark.integration
def test_old_version_returns_old_bytes(s3_buckets):
    uploads, _ = s3_buckets
    uploads.put(KEY, b"old bytes")
    uploads.put(KEY, b"new bytes")
    old, new = [v for v in uploads.list_versions() if v.key == KEY]
    assert uploads.get(KEY, old.version_id) == b"old bytes"
    assert uploads.get(KEY, new.version_id) == b"new bytes"
    assert uploads.get(KEY) == b"new bytes"


@pytest.mark.integration
def test_chinese_keys_with_spaces_round_trip(s3_buckets):
    uploads, results = s3_buckets
    keys = [
        KEY,
        "2023/新疆生产建设兵团/  前后 空格 .pdf",
        "2023/中国移动通信集团有限公司/a+b=c & d%20e #1.docx",
    ]
    for i, k in enumerate(keys):
        data = f"内容 {i}".encode()
        uploads.put(k, data)
        assert uploads.exists(k)
        assert uploads.get(k) == data
    assert sorted(keys) == uploads.list_keys("2023/")
    assert sorted(keys) == sorted({v.key for v in uploads.list_versions("2023/")})
    assert not uploads.exists("2023/江苏省/不存在.docx")
    # a results store under a prefix: keys stay relative to the prefix
    pre = S3Store(results.client, results.bucket, "records/")
    pre.put("2023/申报 单位.json", b"{}", "application/json")
    assert pre.list_keys() == ["2023/申报 单位.json"]
    assert results.list_keys() == ["records/2023/申报 单位.json"]
    assert [v.key for v in pre.list_versions("2023/")] == ["2023/申报 单位.json"]


@pytest.mark.integration
def test_list_keys_latest_only_and_prefix(s3_buckets):
    uploads, _ = s3_buckets
    uploads.put("2023/江苏省/a.docx", b"1")
    uploads.put("2023/江苏省/a.docx", b"2")
    uploads.put("2023/江苏省/b.pdf", b"3")
    uploads.put("2023/深圳市/c.pdf", b"4")
    uploads.put("2024/江苏省/d.pdf", b"5")
    assert uploads.list_keys("2023/江苏省/") == ["2023/江苏省/a.docx", "2023/江苏省/b.pdf"]
    assert uploads.list_keys("2023/") == ["2023/江苏省/a.docx", "2023/江苏省/b.pdf", "2023/深圳市/c.pdf"]
    assert len(uploads.list_keys()) == 4
    assert uploads.list_keys("2025/") == []
    assert uploads.list_versions("2025/") == []


@pytest.mark.integration
def test_missing_objects_raise_keyerror(s3_buckets):
    uploads, _ = s3_buckets
    with pytest.raises(KeyError):
        uploads.get("2023/江苏省/nope.docx")
    uploads.put(KEY, b"x")
    with pytest.raises(KeyError):
        uploads.get(KEY, "0" * 32)


@pytest.mark.integration
def test_delete_markers_excluded(s3_buckets):
    uploads, _ = s3_buckets
    uploads.put(KEY, b"v1")
    uploads.put(KEY, b"v2")
    uploads.delete(KEY)  # a delete marker on top (the pipeline never deletes; someone else may)
    versions = uploads.list_versions()
    assert len(versions) == 2 and all(v.version_id for v in versions)
    assert not any(v.is_latest for v in versions)
    assert uploads.list_keys() == []
    assert not uploads.exists(KEY)
    assert uploads.get(KEY, versions[0].version_id) == b"v1"


@pytest.mark.integration
def test_control_character_keys_listed_by_their_real_names(s3_buckets):
    """SeaweedFS lists a key with a control character with U+FFFD in its place (its version listing
    ignores encoding-type=url): the store gives the versions back their real names, tells apart two keys
    that list alike, and marks the version whose key is gone (no request can reach it by the listed name)."""
    uploads, _ = s3_buckets
    uploads.put("2023/x\x01.docx", b"one")
    uploads.put("2023/x\x02.docx", b"two")
    uploads.put("2023/x\x02.docx", b"two, again")
    uploads.put("2023/gone\x03.docx", b"three")
    uploads.delete("2023/gone\x03.docx")
    uploads.put("2023/real\ufffd.docx", b"a name that holds U+FFFD itself")
    uploads.put("2023/del\x7f.docx", b"DEL is allowed in XML")
    raw = {o.object_name for o in uploads.client.list_objects(uploads.bucket, recursive=True, include_version=True)}
    assert "2023/x\ufffd.docx" in raw  # the server's own listing: what this test is about

    got = [(v.key, v.listed_as, v.name_lost, v.is_latest) for v in uploads.list_versions("2023/")]
    assert got == [
        ("2023/del\x7f.docx", None, None, True),
        ("2023/gone\ufffd.docx", "2023/gone\ufffd.docx", NAME_CONTROL, False),
        ("2023/real\ufffd.docx", None, None, True),
        ("2023/x\x01.docx", "2023/x\ufffd.docx", None, True),
        ("2023/x\x02.docx", "2023/x\ufffd.docx", None, False),
        ("2023/x\x02.docx", "2023/x\ufffd.docx", None, True),
    ]
    readable = [v for v in uploads.list_versions("2023/") if not v.name_lost]
    assert [uploads.get(v.key, v.version_id) for v in readable] == [
        b"DEL is allowed in XML", b"a name that holds U+FFFD itself", b"one", b"two", b"two, again"]


@pytest.mark.integration
def test_capped_get_reads_an_object_once(s3_buckets):
    """get(max_bytes=...) decides by Content-Length before reading, and reads the body in one allocation
    of its size (no buffer grown chunk by chunk and copied out: the S3 path costs what a local read does)."""
    import tracemalloc

    from formintake.storage.base import ObjectTooLarge

    uploads, _ = s3_buckets
    data = os.urandom(24 << 20)
    uploads.put("2023/江苏省/big.pdf", data)
    with pytest.raises(ObjectTooLarge) as exc:
        uploads.get("2023/江苏省/big.pdf", max_bytes=1 << 20)
    assert exc.value.size == len(data)
    tracemalloc.start()
    try:
        got = uploads.get("2023/江苏省/big.pdf", max_bytes=len(data))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == data
    assert peak < 1.3 * len(data), peak / len(data)


@pytest.mark.integration
def test_unversioned_bucket(s3_buckets):
    _, results = s3_buckets
    results.put("r/x.json", b"1")
    results.put("r/x.json", b"22")
    (v,) = results.list_versions("r/")
    assert v.size == 2 and v.is_latest
    assert results.get(v.key, v.version_id) == b"22"  # whatever id the server reports works with get


@pytest.mark.integration
def test_put_from_a_file(s3_buckets, tmp_path):
    """A large table is written from a temporary file, not held in memory: the object holds the file's
    bytes from where it stood (above the client's part size, so in parts)."""
    _, results = s3_buckets
    body = os.urandom(1 << 16) * 100  # 6.5 MB: more than one 5 MiB part
    for store in (results, LocalStore(tmp_path)):
        with tempfile.TemporaryFile() as fh:
            fh.write(b"skipped" + body)
            fh.seek(len(b"skipped"))
            store.put("records/2023/applications.jsonl", fh, "application/x-ndjson")
        assert store.get("records/2023/applications.jsonl") == body
        store.put("records/2023/applications.jsonl", b"bytes as before")
        assert store.get("records/2023/applications.jsonl") == b"bytes as before"


@pytest.mark.integration
def test_get_into_a_file(s3_buckets, tmp_path):
    """get_into copies an object into a binary file from where the file stands, in chunks (the last
    applications.jsonl, ~130 MB at 10,000 records, is read this way, never whole in memory); an absent
    key is a KeyError and leaves the file as it was."""
    _, results = s3_buckets
    body = os.urandom(1 << 16) * 40  # 2.5 MiB: three 1 MiB chunks
    for store in (results, LocalStore(tmp_path / "local")):
        store.put("records/2023/applications.jsonl", body)
        with tempfile.TemporaryFile() as fh:
            fh.write(b"kept")
            assert store.get_into("records/2023/applications.jsonl", fh) == len(body)
            fh.seek(0)
            assert fh.read() == b"kept" + body
            with pytest.raises(KeyError):
                store.get_into("records/2023/absent.jsonl", fh)
            assert fh.seek(0, os.SEEK_END) == 4 + len(body)


@pytest.mark.integration
def test_presigned_url_downloadable(s3_buckets):
    uploads, _ = s3_buckets
    data = "申报书 正文".encode() * 100
    uploads.put(KEY, data, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    url = uploads.url(KEY)
    assert url.startswith("http://127.0.0.1:")
    assert "X-Amz-Expires=604800" in url  # 7 days
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.read() == data


@pytest.mark.integration
def test_ensure_bucket_idempotent(s3_server):
    store = S3Store(s3_server.client(), "t-ensure-" + os.urandom(4).hex())
    store.ensure_bucket(versioning=True)
    store.ensure_bucket(versioning=True)
    assert store.versioning_enabled()
    plain = S3Store(s3_server.client(), "t-plain-" + os.urandom(4).hex())
    plain.ensure_bucket()
    assert not plain.versioning_enabled()


@pytest.mark.integration
def test_from_settings_and_env(s3_server, s3_env):
    from formintake.config import s3_settings

    uploads, results = s3_env
    s = s3_settings()
    assert s.endpoint == s3_server.endpoint
    st = from_settings(s, s.uploads_bucket)
    st.put("2023/江苏省/e.pdf", b"e")
    assert uploads.get("2023/江苏省/e.pdf") == b"e"
    assert s3_server.secret_key not in repr(s) + repr(st) + repr(s3_server)
    # a URL-style endpoint is accepted too
    st2 = from_settings(s.model_copy(update={"endpoint": f"http://{s3_server.endpoint}/"}), s.uploads_bucket)
    assert st2.get("2023/江苏省/e.pdf") == b"e"


def test_make_client_rejects_incomplete_settings():
    from formintake.config import ConfigError, S3Settings

    with pytest.raises(ConfigError):
        make_client(S3Settings(endpoint=None))
    with pytest.raises(ConfigError):
        make_client(S3Settings(endpoint="127.0.0.1:9", access_key="a"))
    with pytest.raises(ConfigError):
        make_client(S3Settings(endpoint="http://127.0.0.1:9/some/path", access_key="a", secret_key="b"))


@pytest.mark.integration
def test_wrong_credentials_not_retried(s3_server, s3_buckets):
    from formintake.config import S3Settings

    uploads, _ = s3_buckets
    bad = from_settings(
        S3Settings(endpoint=s3_server.endpoint, access_key=s3_server.access_key, secret_key="wrong"), uploads.bucket
    )
    t0 = time.monotonic()
    with pytest.raises(S3Error) as info:
        bad.list_keys()
    assert not is_transient(info.value)
    assert time.monotonic() - t0 < 1.5  # no back-off on a 403


# -------------------------------------------------------------------------------------- the server


def _listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets process ``pid`` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = set()
    for table, v6 in (("tcp", False), ("tcp6", True)):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            host_hex, port_hex = local.split(":")
            if v6:
                host = "::" if int(host_hex, 16) == 0 else host_hex
            else:
                host = ".".join(str(b) for b in reversed(bytes.fromhex(host_hex)))
            out.add(f"{host}:{int(port_hex, 16)}")
    return out


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_server_binds_loopback_only(s3_server):
    addrs = _listening_addresses(s3_server.proc.pid)
    assert f"{s3_server.endpoint}" in addrs
    assert len(addrs) >= 8  # master, volume, filer, s3, admin, each with its gRPC port
    assert all(a.startswith("127.0.0.1:") for a in addrs), addrs
    for port in s3_server.ports.values():
        assert f"127.0.0.1:{port}" in addrs
    # no default port of weed mini (a second instance, e.g. the demo, would collide on it)
    for default in (8333, 9333, 9340, 8888, 23646, 7333, 6060, 8181, 9101):
        assert f"127.0.0.1:{default}" not in addrs
    log = s3_server.log_path.read_text(encoding="utf-8", errors="replace")
    assert s3_server.secret_key not in log
    assert s3_server.env() == {
        "FORMINTAKE_S3_ENDPOINT": s3_server.endpoint,
        "FORMINTAKE_S3_ACCESS_KEY": s3_server.access_key,
        "FORMINTAKE_S3_SECRET_KEY": s3_server.secret_key,
        "FORMINTAKE_S3_SECURE": "false",
    }


@pytest.mark.integration
def test_server_stopped_midway_raises_after_bounded_retries(tmp_path, s3_server):
    """A second server alongside the session one; stop it mid-way: calls raise after retries, quickly."""
    with LocalS3(tmp_path / "s3") as server:
        assert server.endpoint != s3_server.endpoint
        store = S3Store(server.client(), "t-midway")
        store.ensure_bucket(versioning=True)
        store.put(KEY, b"before the stop")
        assert store.get(KEY) == b"before the stop"
        pid = server.proc.pid
        server.stop()
        assert not server.running
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # the whole process group is gone

        for call in (lambda: store.get(KEY), store.list_versions, lambda: store.put("x/y.bin", b"y")):
            t0 = time.monotonic()
            with pytest.raises(Exception) as info:
                call()
            elapsed = time.monotonic() - t0
            assert is_transient(info.value), repr(info.value)
            assert 1.0 < elapsed < 10, elapsed  # it did back off, and it did not hang
    # the session server is untouched
    S3Store(s3_server.client(), "t-untouched").ensure_bucket()


def test_server_start_failure_reports_log(tmp_path, monkeypatch):
    from formintake.s3server import S3ServerError

    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("FORMINTAKE_WEED", str(fake))
    t0 = time.monotonic()
    with pytest.raises(S3ServerError, match="boom: cannot start"):
        LocalS3(tmp_path / "d").start(timeout=20)
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("given, expected", [
    ({}, {"GOMAXPROCS": "1", "GOGC": "400"}),  # weed's Go runtime tuned for loopback beside the pipeline
    ({"GOMAXPROCS": "2", "GOGC": "100"}, {"GOMAXPROCS": "2", "GOGC": "100"}),  # the environment's own win
    ({"GOGC": "off"}, {"GOMAXPROCS": "1", "GOGC": "off"}),
])
def test_server_starts_weed_with_go_runtime_settings(tmp_path, monkeypatch, given, expected):
    from formintake.s3server import S3ServerError

    seen = tmp_path / "env"
    fake = tmp_path / "weed"  # records the environment it was started with, then fails to start
    fake.write_text(f"#!/bin/sh\nenv > '{seen}'\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("FORMINTAKE_WEED", str(fake))
    for name in ("GOMAXPROCS", "GOGC"):
        monkeypatch.delenv(name, raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(S3ServerError):
        LocalS3(tmp_path / "d").start(timeout=20)
    env = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert {k: env.get(k) for k in expected} == expected
    assert env.get("FORMINTAKE_WEED") == str(fake)  # the rest of the environment is passed on


# -------------------------------------------------------------------------------------- retrying


def test_retrying_retries_transient_then_succeeds():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("connection refused")
        return "ok"

    assert retrying(flaky, attempts=5, base=0.01, sleep=sleeps.append) == "ok"
    assert len(calls) == 3
    assert len(sleeps) == 2 and sleeps[0] <= 0.01 and sleeps[1] <= 0.02


def test_retrying_real_sleep_is_short():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionResetError("reset by peer")
        return 42

    t0 = time.monotonic()
    assert retrying(flaky) == 42  # defaults: attempts=5, base=0.2
    assert len(calls) == 3
    assert time.monotonic() - t0 < 1.0


def test_retrying_gives_up_after_attempts():
    calls, sleeps = [], []

    def down():
        calls.append(1)
        raise TimeoutError("timed out")

    with pytest.raises(TimeoutError):
        retrying(down, attempts=5, base=0.2, sleep=sleeps.append)
    assert len(calls) == 5 and len(sleeps) == 4
    assert sum(sleeps) <= 3.0  # bounded: 0.2 + 0.4 + 0.8 + 1.6 at most


def test_retrying_does_not_retry_permanent_errors():
    calls = []

    def missing():
        calls.append(1)
        raise KeyError("nope")

    with pytest.raises(KeyError):
        retrying(missing, sleep=lambda s: None)
    assert len(calls) == 1


def _s3_error(code: str, status: int) -> S3Error:
    resp = urllib3.HTTPResponse(body=b"", status=status)
    return S3Error(resp, code, "msg", "/b/k", "req", "host")


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (_s3_error("SlowDown", 503), True),
        (_s3_error("InternalError", 500), True),
        (_s3_error("ServiceUnavailable", 503), True),
        (_s3_error("NoSuchKey", 404), False),
        (_s3_error("AccessDenied", 403), False),
        (_s3_error("SignatureDoesNotMatch", 403), False),
        (ConnectionRefusedError(), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (urllib3.exceptions.ProtocolError("Connection aborted."), True),
        (urllib3.exceptions.NewConnectionError(None, "refused"), True),
        (ValueError("bug"), False),
        (KeyError("k"), False),
    ],
)
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


# -------------------------------------------------------------------------------------- local folder


def test_local_store_behaviours(tmp_path):
    store = LocalStore(tmp_path / "root")
    assert store.list_versions() == [] and store.list_keys() == []
    store.put(KEY, b"old")
    store.put(KEY, b"new bytes")  # overwrite: a folder keeps one version
    store.put("2023/深圳市/b c.pdf", b"%PDF")
    store.put("2024/x.pdf", b"x")

    versions = store.list_versions("2023/")
    assert [v.key for v in versions] == sorted(["2023/深圳市/b c.pdf", KEY])
    v = next(v for v in versions if v.key == KEY)
    assert v.version_id is None and v.is_latest
    assert v.etag == _md5(b"new bytes") and v.size == len(b"new bytes")
    mtime = dt.datetime.fromtimestamp((tmp_path / "root" / KEY).stat().st_mtime, dt.timezone.utc)
    assert abs((_utc(v.last_modified) - mtime).total_seconds()) < 0.01

    assert store.get(KEY) == b"new bytes"
    assert store.get(KEY, None) == b"new bytes"
    with pytest.raises(KeyError):
        store.get(KEY, "some-version")
    with pytest.raises(KeyError):
        store.get("2023/江苏省/missing.docx")
    assert store.exists(KEY) and not store.exists("2023/江苏省/missing.docx")
    assert store.list_keys("2023/深圳市/") == ["2023/深圳市/b c.pdf"]
    assert len(store.list_keys()) == 3
    assert store.url(KEY) == str((tmp_path / "root" / KEY).resolve())
    assert Path(store.url(KEY)).read_bytes() == b"new bytes"
    # atomic writes leave nothing behind
    leftovers = [p for p in (tmp_path / "root").rglob("*") if p.is_file() and ".fi-tmp-" in p.name]
    assert leftovers == []


def test_local_store_rejects_escaping_keys(tmp_path):
    store = LocalStore(tmp_path / "root")
    (tmp_path / "secret.txt").write_text("s")
    with pytest.raises(ValueError):
        store.put("../secret.txt", b"x")
    with pytest.raises(KeyError):
        store.get("../secret.txt")
    assert not store.exists("a/../../secret.txt")
    assert (tmp_path / "secret.txt").read_text() == "s"


def test_local_store_hides_half_written_files(tmp_path):
    root = tmp_path / "root"
    (root / "江苏省").mkdir(parents=True)
    (root / "江苏省" / ".a.docx.fi-tmp-abc123").write_bytes(b"partial")
    (root / "江苏省" / "a.docx").write_bytes(b"full")
    store = LocalStore(root)
    assert store.list_keys() == ["江苏省/a.docx"]
    assert [v.key for v in store.list_versions()] == ["江苏省/a.docx"]


def test_local_store_long_chinese_name(tmp_path):
    store = LocalStore(tmp_path)
    name = "2023/江苏省/" + "很长的申报书文件名" * 8 + ".docx"  # 72 CJK chars: 216 bytes of 255
    store.put(name, b"ok")
    assert store.get(name) == b"ok"
