"""ObjectStore over a local folder (``formintake check DIR --out OUTDIR``).

Keys are POSIX paths relative to the root. A folder keeps no versions: ``version_id`` is None, the ETag
is the MD5 hex of the content (what S3 gives for a single-part upload), ``last_modified`` the mtime in
ISO 8601 UTC. ``put`` writes atomically (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath

from formintake.storage.base import ObjectVersion

_TMP_MARK = ".fi-tmp-"  # our own half-written files: never listed


def _iso_mtime(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat(timespec="milliseconds")


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class LocalStore:
    """A folder as an ObjectStore."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStore(root={str(self.root)!r})"

    def _path(self, key: str) -> Path:
        rel = PurePosixPath(key.replace("\\", "/").lstrip("/"))
        if not rel.parts or any(part in ("..", ".") for part in rel.parts):
            raise ValueError(f"bad key {key!r}")
        return self.root.joinpath(*rel.parts)

    def _walk(self, prefix: str) -> list[tuple[str, Path]]:
        if not self.root.is_dir():
            return []
        prefix = prefix.replace("\\", "/").lstrip("/")
        out: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            # hidden files and folders (.DS_Store, .git, a generator's .truth.jsonl) are not uploads
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            base = Path(dirpath)
            rel_dir = base.relative_to(self.root).as_posix()
            for name in filenames:
                if _TMP_MARK in name or name.startswith("."):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    p = base / name
                    if p.is_file():
                        out.append((key, p))
        out.sort()
        return out

    # ObjectStore
    def list_versions(self, prefix: str = "") -> list[ObjectVersion]:
        out = []
        for key, p in self._walk(prefix):
            try:
                st = p.stat()
                etag = _md5_file(p)
            except OSError:  # vanished between listing and reading
                continue
            out.append(
                ObjectVersion(
                    key=key, version_id=None, etag=etag, size=st.st_size, last_modified=_iso_mtime(st.st_mtime), is_latest=True
                )
            )
        return out

    def get(self, key: str, version_id: str | None = None) -> bytes:
        if version_id is not None:
            raise KeyError(f"{key} (version {version_id}): a local folder keeps no versions")
        try:
            p = self._path(key)
        except ValueError as exc:
            raise KeyError(key) from exc
        try:
            return p.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise KeyError(key) from exc

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:32]}{_TMP_MARK}", dir=p.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, p)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except ValueError:
            return False

    def list_keys(self, prefix: str = "") -> list[str]:
        return [k for k, _ in self._walk(prefix)]

    def url(self, key: str) -> str:
        return str(self._path(key))
