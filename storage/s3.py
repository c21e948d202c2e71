"""ObjectStore over S3 (MinIO in production, SeaweedFS in tests and the demo) with the minio SDK.

Transient failures (connection refused/reset, timeouts, HTTP 5xx, SlowDown) are retried with
exponential backoff by :func:`retrying`; 403/404 and other client errors are not. The client built by
:func:`make_client` has short connect timeouts and no urllib3-level retries, so the total time a call
can spend retrying stays bounded (about 3 s of back-off for 5 attempts).

Credentials are never logged: neither :class:`S3Store` nor the settings show them in a repr.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import os
import random
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, TypeVar

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.versioningconfig import ENABLED, VersioningConfig

from formintake.config import ConfigError, S3Settings
from formintake.storage.base import (NAME_CONTROL, NAME_DOT_SEGMENT, ObjectTooLarge, ObjectVersion, UnreachableName,
                                     as_listed_in_xml, has_dot_segment)

log = logging.getLogger(__name__)

T = TypeVar("T")

PRESIGN_EXPIRY = dt.timedelta(days=7)  # the S3 maximum for SigV4 presigned URLs
# HTTP connections kept per host: at least the threads that share one client (the pipeline's readers and
# writers beside the extraction workers, 4 + 4, and put_many's PUT_THREADS); a thread over it would open
# a connection and throw it away each time (urllib3's "connection pool is full")
POOL_CONNECTIONS = 32
PUT_THREADS = 8  # put_many: objects written at once

# S3 error codes worth retrying (the server is busy or had a hiccup)
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "SlowDownRead",
        "SlowDownWrite",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequests",
        "XMinioServerNotInitialized",
        "XMinioReadQuorum",
        "XMinioWriteQuorum",
        "OperationAborted",
    }
)
# "this object (or version) is not there": get() turns these into KeyError, exists() into False
ABSENT_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchObject", "ResourceNotFound", "NotFound"})


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry may cure: network trouble, timeouts, 5xx, throttling. Never 403/404."""
    if isinstance(exc, S3Error):
        if exc.code in TRANSIENT_CODES:
            return True
        status = getattr(exc.response, "status", None)
        return isinstance(status, int) and (status >= 500 or status == 429)
    if isinstance(exc, ServerError):
        return exc.status_code >= 500 or exc.status_code == 429
    if isinstance(exc, InvalidResponseError):
        status = getattr(exc, "_code", None)
        return isinstance(status, int) and (status >= 500 or status == 429)
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        return exc.reason is None or is_transient(exc.reason)
    if isinstance(
        exc,
        (
            urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.ProtocolError,  # connection reset / aborted mid-response
            urllib3.exceptions.TimeoutError,
            urllib3.exceptions.ReadTimeoutError,
            urllib3.exceptions.IncompleteRead,
            urllib3.exceptions.ResponseError,
        ),
    ):
        return True
    if isinstance(exc, urllib3.exceptions.SSLError):
        return False  # a certificate problem does not heal by waiting
    # builtins: ConnectionError covers refused/reset/aborted/broken pipe; socket.timeout is TimeoutError
    return isinstance(exc, (ConnectionError, TimeoutError, socket.timeout))


def retrying(
    fn: Callable[[], T],
    attempts: int = 5,
    base: float = 0.2,
    *,
    max_delay: float = 2.0,
    retry_on: Callable[[BaseException], bool] = is_transient,
    what: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``fn()``; on a transient error wait ``base * 2**i`` (jittered, capped) and try again.

    At most ``attempts`` calls; the last error is re-raised as is. With the defaults the waits add up to at
    most 0.2+0.4+0.8+1.6 = 3.0 s. Errors that ``retry_on`` rejects (404, 403, bad request, bugs) propagate
    at once.
    """
    attempts = max(1, int(attempts))
    for i in range(attempts):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - filtered by retry_on
            if i == attempts - 1 or not retry_on(exc):
                raise
            delay = min(max_delay, base * (2**i)) * random.uniform(0.5, 1.0)
            log.warning(
                "transient storage error%s (attempt %d/%d, retry in %.2fs): %s: %s",
                f" in {what}" if what else "",
                i + 1,
                attempts,
                delay,
                type(exc).__name__,
                _short(exc),
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def _is_absent(exc: BaseException) -> bool:
    if not isinstance(exc, S3Error):
        return False
    if exc.code in ABSENT_CODES:
        return True
    # a version id the server cannot parse: MinIO says InvalidArgument (400) — the version is simply absent
    return exc.code == "InvalidArgument" and "version" in (exc.message or "").lower()


def _iso_utc(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


# -- client -------------------------------------------------------------------------------------------


def _split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """Accept ``host:port`` or a URL (``http://host:port``, ``https://…``, trailing slash)."""
    ep = endpoint.strip()
    low = ep.lower()
    if low.startswith("https://"):
        ep, secure = ep[8:], True
    elif low.startswith("http://"):
        ep, secure = ep[7:], False
    ep = ep.rstrip("/")
    if "/" in ep:
        raise ConfigError(f"FORMINTAKE_S3_ENDPOINT must be host:port, not a URL with a path: {endpoint!r}")
    return ep, secure


def http_client(connect_timeout: float = 5.0, read_timeout: float = 60.0, cert_check: bool = True) -> urllib3.PoolManager:
    """The pool minio uses, minus its own retries (ours are above it) and with short connect timeouts."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=POOL_CONNECTIONS,
        cert_reqs="CERT_REQUIRED" if cert_check else "CERT_NONE",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=False,
    )


def make_client(settings: S3Settings, *, connect_timeout: float = 5.0, read_timeout: float = 60.0) -> Minio:
    """A Minio client for the configured endpoint. Raises ConfigError when the settings are incomplete."""
    if not settings.endpoint:
        raise ConfigError("FORMINTAKE_S3_ENDPOINT is not set")
    if bool(settings.access_key) != bool(settings.secret_key):
        raise ConfigError("set both FORMINTAKE_S3_ACCESS_KEY and FORMINTAKE_S3_SECRET_KEY (or neither)")
    endpoint, secure = _split_endpoint(settings.endpoint, settings.secure)
    try:
        return Minio(
            endpoint,
            access_key=settings.access_key or None,
            secret_key=settings.secret_key or None,
            secure=secure,
            http_client=http_client(connect_timeout, read_timeout),
        )
    except ValueError as exc:  # minio validates the endpoint
        raise ConfigError(f"bad FORMINTAKE_S3_ENDPOINT {settings.endpoint!r}: {exc}") from exc


def make_presign_client(settings: S3Settings) -> Minio | None:
    """A client for FORMINTAKE_S3_PUBLIC_ENDPOINT, used only to sign links (no request is sent)."""
    if not settings.public_endpoint:
        return None
    endpoint, secure = _split_endpoint(settings.public_endpoint, settings.secure)
    # a fixed region: presigning then needs no round trip to a host the pipeline may not reach
    return Minio(endpoint, access_key=settings.access_key or None, secret_key=settings.secret_key or None,
                 secure=secure, region=settings.region)


def from_settings(settings: S3Settings, bucket: str, prefix: str = "") -> "S3Store":
    """An S3Store on ``bucket`` (under ``prefix``) of the configured server."""
    return S3Store(make_client(settings), bucket, prefix)


# -- store --------------------------------------------------------------------------------------------


class S3Store:
    """A bucket, or a prefix of one. Keys are relative to the prefix."""

    def __init__(self, client: Minio, bucket: str, prefix: str = "", *, attempts: int = 5, base: float = 0.2,
                 presign_client: Minio | None = None) -> None:
        self.client = client
        # presigned links for people may need another host than the one the pipeline reaches
        # (FORMINTAKE_S3_PUBLIC_ENDPOINT, e.g. behind a proxy or outside a compose network)
        self.presign_client = presign_client or client
        self.bucket = bucket
        p = (prefix or "").strip("/")
        self.prefix = f"{p}/" if p else ""
        self.attempts = attempts
        self.base = base

    def __repr__(self) -> str:  # no credentials: only where
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # helpers
    def _full(self, key: str) -> str:
        # as given: ``/x`` and ``x`` are two objects on servers that keep a leading slash (AWS)
        if not key:
            raise ValueError("empty object key")
        return self.prefix + key

    def _rel(self, name: str) -> str:
        return name[len(self.prefix) :] if self.prefix and name.startswith(self.prefix) else name

    def _retry(self, fn: Callable[[], T], what: str) -> T:
        return retrying(fn, self.attempts, self.base, what=what)

    # bucket
    def ensure_bucket(self, versioning: bool = False) -> None:
        """Create the bucket if missing; with ``versioning`` make sure versioning is Enabled."""

        def make() -> None:
            if self.client.bucket_exists(self.bucket):
                return
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

        self._retry(make, f"ensure bucket {self.bucket}")
        if versioning:

            def version() -> None:
                if self.client.get_bucket_versioning(self.bucket).status != ENABLED:
                    self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))

            self._retry(version, f"enable versioning on {self.bucket}")

    def versioning_enabled(self) -> bool:
        return self._retry(lambda: self.client.get_bucket_versioning(self.bucket).status == ENABLED, "get versioning")

    # ObjectStore
    def list_versions(self, prefix: str = "") -> list[ObjectVersion]:
        """Every version under prefix, oldest first per key; delete markers and folder markers excluded."""
        full = self.prefix + prefix.lstrip("/")
        objs = self._retry(
            lambda: list(self.client.list_objects(self.bucket, prefix=full or None, recursive=True, include_version=True)),
            f"list versions {self.bucket}/{full}",
        )
        return self.versions_of(objs)

    def versions_of(self, objs: Iterable[Object]) -> list[ObjectVersion]:
        """The ObjectVersions of a version listing as the SDK parsed it (in the server's order)."""
        rows: list[tuple[str, str, int, ObjectVersion]] = []
        for pos, o in enumerate(objs):
            if o.is_delete_marker or o.is_dir or not o.object_name or o.object_name.endswith("/"):
                continue
            v = ObjectVersion(
                key=self._rel(o.object_name),
                version_id=o.version_id or None,
                etag=o.etag.strip('"') if o.etag else None,
                size=int(o.size or 0),
                last_modified=_iso_utc(o.last_modified),
                is_latest=_truthy(o.is_latest) if o.version_id else True,
                name_lost=NAME_DOT_SEGMENT if has_dot_segment(o.object_name) else None,
            )
            # S3 lists a key's versions newest first; -pos breaks ties of equal timestamps the same way
            rows.append((v.key, v.last_modified, -pos, v))
        if any("\ufffd" in r[0] for r in rows):
            rows = self._recover_names(rows)
        rows.sort(key=lambda r: r[:3])
        return [r[3] for r in rows]

    def _recover_names(self, rows: list[tuple[str, str, int, ObjectVersion]]) -> list[tuple[str, str, int, ObjectVersion]]:
        """Give back their real names to versions listed with U+FFFD in the key.

        SeaweedFS's version listing ignores encoding-type=url, so a key with a control character (a name
        as an applicant or an unzip tool made it) is listed with U+FFFD in its place, and no request
        reaches the object by that name. Its object listing (ListObjectsV2) does URL-encode keys (the SDK
        decodes them): a real key listed there whose XML rendering is the listed name is the name. Several
        such keys (``a\x01`` and ``a\x02``) are told apart by asking each for the version. A version
        no object listing shows (its key deleted since) keeps the listed name, marked ``name_lost``. Each
        candidate is confirmed by a HEAD of that version: the cost is paid only for such keys.
        """
        listed = {r[0] for r in rows if "\ufffd" in r[0]}
        real: dict[str, set[str]] = {}
        scanned: list[str] = []
        for prefix in sorted({self.prefix + k[: k.index("\ufffd")] for k in listed}):
            if any(prefix.startswith(p) for p in scanned):
                continue
            scanned.append(prefix)
            objs = self._retry(
                lambda p=prefix: list(self.client.list_objects(self.bucket, prefix=p or None, recursive=True)),
                f"list {self.bucket}/{prefix} (names)",
            )
            for o in objs:
                if o.object_name and not o.is_dir:
                    name = self._rel(o.object_name)
                    if as_listed_in_xml(name) in listed:
                        real.setdefault(as_listed_in_xml(name), set()).add(name)
        out = []
        for key, when, pos, v in rows:
            if key in listed:
                name = self._which(sorted(real.get(key, ())), v)
                if name != key:  # (a name that really holds U+FFFD is listed as it is)
                    v = dataclasses.replace(v, key=name or key, listed_as=key, name_lost=None if name else NAME_CONTROL)
                if name is None:
                    log.warning("the server lists %r (version %s) under a name no request can reach", key, v.version_id)
            out.append((v.key, when, pos, v))
        return out

    def _which(self, names: list[str], v: ObjectVersion) -> str | None:
        """The one of ``names`` that holds version ``v`` (asked by HEAD, so a version of a deleted key is
        never given the name of another key that shares its listed form), else None."""
        hits = []
        for name in names:
            try:
                st = self._retry(lambda n=name: self.client.stat_object(self.bucket, self._full(n), version_id=v.version_id),
                                 f"stat {self.bucket}/{name}")
            except S3Error as exc:
                if _is_absent(exc) or exc.code in ("InvalidArgument", "BadRequest"):
                    continue
                raise
            if v.etag is None or (st.etag or "").strip('"') == v.etag:
                hits.append(name)
        return hits[0] if len(hits) == 1 else None

    def get(self, key: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        """The object's bytes; with ``max_bytes``, never more than that is read (ObjectTooLarge): the
        Content-Length decides first, then the stream is cut at ``max_bytes`` + 1. A name with a ``.``/``..``
        segment (which AWS may list) raises UnreachableName: the SDK cannot address it."""
        name = self._full(key)
        if has_dot_segment(name):
            raise UnreachableName(key, NAME_DOT_SEGMENT)

        def fetch() -> bytes:
            resp = self.client.get_object(self.bucket, name, version_id=version_id or None)
            try:
                if max_bytes is None:
                    return resp.read()
                length = resp.headers.get("Content-Length")
                if length is not None and int(length) > max_bytes:
                    raise ObjectTooLarge(key, int(length), max_bytes)
                if length is not None:
                    # one allocation of exactly Content-Length bytes (http.client reads that many), like a
                    # local read: growing a buffer chunk by chunk and copying it out cost 2-3x the size
                    return resp.read()
                buf = bytearray()  # no length (chunked): streamed, cut at max_bytes + 1
                for chunk in resp.stream(1 << 20):
                    buf += chunk
                    if len(buf) > max_bytes:
                        raise ObjectTooLarge(key, None, max_bytes)
                return bytes(buf)
            finally:
                resp.close()
                resp.release_conn()

        try:
            return self._retry(fetch, f"get {self.bucket}/{name}")
        except S3Error as exc:
            if _is_absent(exc):
                raise KeyError(key if version_id is None else f"{key} (version {version_id})") from exc
            raise

    def get_into(self, key: str, out: BinaryIO) -> int:
        """The latest object streamed into ``out`` in 1 MiB chunks (base.ObjectStore.get_into); a retry
        starts again from where ``out`` stood."""
        name = self._full(key)
        if has_dot_segment(name):
            raise UnreachableName(key, NAME_DOT_SEGMENT)
        start = out.tell()

        def fetch() -> int:
            out.seek(start)
            out.truncate()
            resp = self.client.get_object(self.bucket, name)
            try:
                for chunk in resp.stream(1 << 20):
                    out.write(chunk)
            finally:
                resp.close()
                resp.release_conn()
            return out.tell() - start

        try:
            return self._retry(fetch, f"get {self.bucket}/{name}")
        except S3Error as exc:
            if _is_absent(exc):
                raise KeyError(key) from exc
            raise

    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> str | None:
        """Write an object (bytes, or a binary file read from where it stands: base.ObjectStore.put);
        returns the new version id where the bucket keeps versions."""
        name = self._full(key)
        if isinstance(data, (bytes, bytearray, memoryview)):
            data = bytes(data)
            start, length, body = 0, len(data), io.BytesIO(data)
        else:  # streamed by the client (in parts when large)
            body, start = data, data.tell()
            length = data.seek(0, io.SEEK_END) - start

        def put():  # every attempt from the start
            body.seek(start)
            return self.client.put_object(self.bucket, name, body, length, content_type=content_type)

        res = self._retry(put, f"put {self.bucket}/{name}")
        return getattr(res, "version_id", None) or None

    def put_many(self, items: Iterable[tuple[str, bytes | BinaryIO, str]], threads: int = PUT_THREADS) -> None:
        """``put`` each ``(key, data, content_type)``, ``threads`` at a time (a thousand record files
        one after another spent most of their time waiting for the server). ``items`` is taken lazily, at
        most twice ``threads`` ahead of the finished writes, so a caller may make each object as it goes.
        A write that still fails after its retries is raised once the writes under way have ended; the
        items not yet taken are not written."""
        threads = max(1, threads)
        pending: deque[Future] = deque()
        with ThreadPoolExecutor(threads, thread_name_prefix="formintake-put") as pool:
            try:
                for key, data, content_type in items:
                    pending.append(pool.submit(self.put, key, data, content_type))
                    while pending and (pending[0].done() or len(pending) >= 2 * threads):
                        pending.popleft().result()
                while pending:
                    pending.popleft().result()
            finally:
                for fut in pending:
                    fut.cancel()

    def exists(self, key: str) -> bool:
        name = self._full(key)
        try:
            self._retry(lambda: self.client.stat_object(self.bucket, name), f"stat {self.bucket}/{name}")
        except S3Error as exc:
            if _is_absent(exc):
                return False
            raise
        return True

    def list_keys(self, prefix: str = "") -> list[str]:
        full = self.prefix + prefix.lstrip("/")
        objs = self._retry(
            lambda: list(self.client.list_objects(self.bucket, prefix=full or None, recursive=True)),
            f"list {self.bucket}/{full}",
        )
        return sorted(
            self._rel(o.object_name) for o in objs if o.object_name and not o.is_dir and not o.object_name.endswith("/")
        )

    def url(self, key: str) -> str:
        """A presigned GET URL valid for 7 days (carries the access key id and a signature, never the secret)."""
        name = self._full(key)
        return self._retry(
            lambda: self.presign_client.presigned_get_object(self.bucket, name, expires=PRESIGN_EXPIRY),
            f"presign {self.bucket}/{name}",
        )

    def delete(self, key: str, version_id: str | None = None) -> None:
        """Remove an object (or one version). Not part of ObjectStore: the pipeline never deletes uploads."""
        name = self._full(key)
        self._retry(lambda: self.client.remove_object(self.bucket, name, version_id=version_id), f"delete {name}")
