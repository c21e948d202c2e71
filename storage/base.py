"""The one narrow storage interface the pipeline speaks. S3 (minio SDK) and a local folder implement it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ObjectVersion:
    key: str
    version_id: str | None  # None where the store has no versioning (a local folder)
    etag: str | None
    size: int
    last_modified: str  # ISO 8601, UTC
    is_latest: bool = True
    # the name as the file system holds it, hex of its bytes, when it was not UTF-8 and ``key`` is decoded
    key_bytes_hex: str | None = None
    # why this entry is not read (a local link leaving the folder, a dangling link, a device, a pipe)
    not_regular: str | None = None


class ObjectTooLarge(Exception):
    """``get(..., max_bytes=N)`` found more than N bytes: the object is not read further."""

    def __init__(self, key: str, size: int | None, limit: int) -> None:
        super().__init__(f"{key}: more than {limit} bytes")
        self.key, self.size, self.limit = key, size, limit


class ObjectStore(Protocol):
    """A bucket (or a prefix of one). Keys are relative to it and may hold Chinese and spaces."""

    def list_versions(self, prefix: str = "") -> list[ObjectVersion]:
        """Every version of every object under prefix, oldest first per key. Delete markers excluded."""

    def get(self, key: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        """The object's bytes (a given version, else the latest). Raises KeyError when absent, and
        ObjectTooLarge (having read at most ``max_bytes`` + 1 bytes) when it holds more than ``max_bytes``."""

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Write (or overwrite) an object."""

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str = "") -> list[str]:
        """Keys of the latest objects under prefix."""

    def url(self, key: str) -> str:
        """Where a person can open the object: a presigned URL for S3, a file path locally."""
