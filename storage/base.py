"""The one narrow storage interface the pipeline speaks. S3 (minio SDK) and a local folder implement it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol


# characters XML 1.0 cannot carry: a listing that is not URL-encoded shows each of them as U+FFFD
# (Go's encoding/xml, SeaweedFS); tab, LF and CR are allowed
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def as_listed_in_xml(name: str) -> str:
    """``name`` as a listing that is not URL-encoded shows it (each non-XML character -> U+FFFD)."""
    return _NOT_XML.sub("\ufffd", name)


@dataclass(frozen=True, slots=True)  # slots: a listing of 10,000 versions is held through a run
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
    # the name as the server's version listing showed it, when that is not the object's name: characters
    # XML 1.0 cannot carry (control characters) come back as U+FFFD from a server that ignores
    # encoding-type=url there (SeaweedFS). ``key`` is then the real name, recovered from the URL-encoded
    # object listing; when it could not be recovered ``key`` stays the listed name (``name_lost``).
    listed_as: str | None = None
    # why no request can reach the object by ``key`` (NAME_CONTROL, NAME_DOT_SEGMENT), else None
    name_lost: str | None = None


NAME_CONTROL = "control characters listed as U+FFFD, the real name not found"
NAME_DOT_SEGMENT = "a '.' or '..' path segment, which the S3 client cannot address"


class UnreachableName(Exception):
    """``get`` was asked for a name no request can reach (``reason``: NAME_CONTROL, NAME_DOT_SEGMENT)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key!r}: {reason}")
        self.key, self.reason = key, reason


def has_dot_segment(key: str) -> bool:
    """``a/../b``, ``./x``, ``a/.``: names S3 servers like AWS hold but a path-cleaning client or server
    cannot address (the minio SDK refuses them; SeaweedFS and MinIO refuse to store them)."""
    return any(seg in (".", "..") for seg in key.split("/"))


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

    def get_into(self, key: str, out: BinaryIO) -> int:
        """Copy the latest object's bytes into ``out`` (a binary file, from where it stands) in chunks,
        never whole in memory; returns the number of bytes. Raises KeyError when absent."""

    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> None:
        """Write (or overwrite) an object: ``data`` is its bytes, or a binary file positioned at its start
        (copied from there, never read whole into memory: a table of every record at 10,000 forms)."""

    def put_many(self, items: Iterable[tuple[str, bytes | BinaryIO, str]]) -> None:
        """``put`` each ``(key, data, content_type)``, several at a time where the store gains by it (S3).
        ``items`` is taken lazily (a caller may make each object as it goes); the first write that
        fails is raised, and what was not yet taken is not written."""

    def exists(self, key: str) -> bool: ...

    def list_keys(self, prefix: str = "") -> list[str]:
        """Keys of the latest objects under prefix."""

    def url(self, key: str) -> str:
        """Where a person can open the object: a presigned URL for S3, a file path locally."""
