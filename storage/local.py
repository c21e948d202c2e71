"""ObjectStore over a local folder (``formintake check DIR --out OUTDIR``).

Keys are POSIX paths relative to the root. A folder keeps no versions: ``version_id`` is None, the ETag
is the MD5 hex of the content (what S3 gives for a single-part upload), ``last_modified`` the mtime in
ISO 8601 UTC. ``put`` writes atomically (temporary file in the same folder, then ``os.replace``).

Listing reads the folder as the file system holds it (bytes), so that every entry an uploader left
becomes exactly one listed version, whatever its name or kind:

* a name that is not UTF-8 (GBK bytes from a zip made on Chinese Windows) is decoded as GB18030 and
  listed under the decoded key, with the raw bytes in ``key_bytes_hex``;
* a name holding ``\\`` (a Windows zip unpacked on Linux: ``材料\\申报书.docx``) is one file, not a path:
  its key keeps the backslash and ``get`` finds it by the listing, not by splitting the key;
* a link leaving the folder, a dangling link, a link to a folder, a device, a pipe or a socket is listed
  with ``not_regular`` set and is never opened (no ETag: nothing was read);
* read as uploads (``uploads=True``), the results folder (when it lies inside the checked one), any
  folder shaped like one (``state/`` beside ``records/`` or ``reports/``: an earlier run's ``--out``),
  top-level ``records/`` and any ``state/`` or ``reports/`` folder (what a run writes) are never uploads;
  nor, ever, are hidden entries (``.DS_Store``) and our own half-written files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from formintake.storage.base import ObjectTooLarge, ObjectVersion

_TMP_MARK = ".fi-tmp-"  # our own half-written files: never listed
_TMP_MARK_B = _TMP_MARK.encode()
# what a run writes into its results folder: never an upload, even when DIR is also the results folder
OUTPUT_FOLDERS = (b"state", b"records", b"reports")
RUN_FOLDERS = (b"state", b"reports")  # at any depth: never uploads


def _is_results_folder(entries: list[os.DirEntry]) -> bool:
    names = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    return b"state" in names and (b"records" in names or b"reports" in names)


def _may_hold(folder: bytes, prefix: str) -> bool:
    """Whether keys under ``folder`` (raw, relative) can start with ``prefix``: a UTF-8 folder name is
    its key's text, so a folder off the prefix's path is not walked (a results folder's ``state/``
    without its ``records/`` and ``reports/``); a name that is not UTF-8 is always walked."""
    try:
        text = folder.decode("utf-8") + "/"
    except UnicodeDecodeError:
        return True
    return text.startswith(prefix) or prefix.startswith(text)


def _iso_mtime(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat(timespec="milliseconds")


def decode_name(raw: bytes) -> tuple[str, bool]:
    """A file-name component as text: UTF-8, else GB18030 (a superset of GBK), else UTF-8 with the bad
    bytes escaped. The flag says the name was not UTF-8."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), True


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "folder"
    return "not a regular file"


class _Entry:
    """A listed name: where it is, and of its stat only what a listing shows (the index of a folder of
    10,000 uploads is kept for the run: a whole ``os.stat_result`` is ~0.8 KB of number objects)."""

    __slots__ = ("path", "raw_rel", "not_regular", "size", "mtime")

    def __init__(self, path: bytes, raw_rel: bytes, not_regular: str | None, st: os.stat_result) -> None:
        self.path, self.raw_rel, self.not_regular = path, raw_rel, not_regular
        self.size, self.mtime = st.st_size, st.st_mtime


class LocalStore:
    """A folder as an ObjectStore."""

    def __init__(self, root: Path | str, *, uploads: bool = False, exclude: list[Path | str] | tuple = ()) -> None:
        """``uploads``: the folder is read as uploads (skip top-level state/, records/, reports/);
        ``exclude``: folders never listed (the run's results folder when it lies inside)."""
        self.root = Path(root).resolve()
        self._uploads = uploads
        self._root_b = os.fsencode(self.root)
        # by where it is and where it points (an --out given as a link inside DIR)
        self._exclude = {os.fsencode(q) for p in exclude for q in (Path(p).resolve(), Path(p).absolute())}
        self._index: dict[str, _Entry] = {}

    def __repr__(self) -> str:
        return f"LocalStore(root={str(self.root)!r})"

    def _path(self, key: str) -> Path:
        rel = PurePosixPath(key.replace("\\", "/").lstrip("/"))
        if not rel.parts or any(part in ("..", ".") for part in rel.parts):
            raise ValueError(f"bad key {key!r}")
        return self.root.joinpath(*rel.parts)

    def _inside(self, real: bytes) -> bool:
        return real == self._root_b or real.startswith(self._root_b.rstrip(b"/") + b"/")

    def _classify(self, path: bytes, entry: os.DirEntry) -> tuple[str | None, os.stat_result | None, bool]:
        """(why not regular or None, stat to list it by, descend into it as a folder)."""
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(path)
            if not self._inside(real):
                return "link leaving the checked folder", st, False
            try:
                target = os.stat(real)
            except OSError:
                return "dangling link", st, False
            if stat.S_ISREG(target.st_mode):
                return None, target, False  # a link to a file inside the folder: read as that file
            return f"link to a {_kind(target.st_mode)}", st, False
        if stat.S_ISDIR(st.st_mode):
            return None, st, True
        if stat.S_ISREG(st.st_mode):
            return None, st, False
        return _kind(st.st_mode), st, False

    def _walk(self, prefix: str) -> list[tuple[str, _Entry]]:
        if not self.root.is_dir():
            return []
        prefix = prefix.lstrip("/")
        found: list[tuple[bytes, bytes, str | None, os.stat_result]] = []
        stack: list[tuple[bytes, bytes]] = [(self._root_b, b"")]
        while stack:
            folder, rel = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            if self._uploads and rel and _is_results_folder(entries):
                continue  # an earlier run's results folder (another --out) left inside DIR
            for e in entries:
                name: bytes = e.name
                # hidden files and folders (.DS_Store, .git, macOS ._ forks, a generator's .truth.jsonl) are
                # not uploads; a Windows name that merely starts with dots (``..\\..\\evil.docx``) is one
                if (name.startswith(b".") and b"\\" not in name) or _TMP_MARK_B in name:
                    continue
                if self._uploads and (name in RUN_FOLDERS or (not rel and name in OUTPUT_FOLDERS)):
                    continue
                path = e.path
                if path in self._exclude:
                    continue
                try:
                    why, st, descend = self._classify(path, e)
                except OSError:  # vanished while listing
                    continue
                child = rel + b"/" + name if rel else name
                if descend:
                    if prefix and not _may_hold(child, prefix):
                        continue
                    stack.append((path, child))
                else:
                    found.append((child, path, why, st))
        out: list[tuple[str, _Entry]] = []
        taken: set[str] = set()
        for raw_rel, path, why, st in sorted(found):
            parts = [decode_name(p) for p in raw_rel.split(b"/")]
            key = "/".join(p for p, _ in parts)
            if key in taken:  # two byte names decoding alike: the later keeps its bytes visible
                key = raw_rel.decode("utf-8", "backslashreplace")
            taken.add(key)
            if key.startswith(prefix):
                ent = _Entry(path, raw_rel if any(bad for _, bad in parts) else b"", why, st)
                out.append((key, ent))
        out.sort(key=lambda kv: kv[0])
        return out

    def _open_regular(self, ent: _Entry) -> int:
        """A descriptor on the entry's file, refusing anything that is not (or no longer) a regular file
        inside the folder: no blocking on a pipe, no following a link swapped in since the listing."""
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        if os.path.islink(ent.path):
            if not self._inside(os.path.realpath(ent.path)):
                raise PermissionError(f"{os.fsdecode(ent.path)}: link leaving the checked folder")
        else:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(ent.path, flags)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise PermissionError(f"{os.fsdecode(ent.path)}: not a regular file")
        return fd

    # ObjectStore
    def list_versions(self, prefix: str = "") -> list[ObjectVersion]:
        out = []
        walked = self._walk(prefix)
        self._index.update(walked)
        for key, ent in walked:
            etag = None
            size = ent.size
            if ent.not_regular is None:
                try:
                    fd = self._open_regular(ent)
                except OSError:  # vanished or swapped between listing and reading: listed, not read
                    ent.not_regular = "could not be opened as a regular file"
                else:
                    with os.fdopen(fd, "rb") as fh:
                        size = os.fstat(fh.fileno()).st_size
                        etag = hashlib.file_digest(fh, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()
            if ent.not_regular is not None:
                size = 0
            out.append(
                ObjectVersion(
                    key=key, version_id=None, etag=etag, size=size, last_modified=_iso_mtime(ent.mtime),
                    is_latest=True, key_bytes_hex=ent.raw_rel.hex() if ent.raw_rel else None,
                    not_regular=ent.not_regular,
                )
            )
        return out

    def _entry(self, key: str) -> _Entry:
        ent = self._index.get(key)
        if ent is None and not self._uploads and "\\" not in key:
            # not read as uploads (a results folder, or uploads already listed): a plain key is its path;
            # no walk of the whole folder (and no index of every file in it) to read or miss one
            ent = self._by_path(key)
            if ent is None:
                raise KeyError(key)
        if ent is None:  # an upload's name may not be its path (GBK bytes, a backslash): found by listing
            self._index.update(self._walk(""))
            ent = self._index.get(key)
        if ent is None:  # not an upload (hidden, our own output): only our own keys, by path
            ent = self._by_path(key)
        if ent is None:
            raise KeyError(key)
        return ent

    def _by_path(self, key: str) -> _Entry | None:
        try:
            p = self._path(key)
            st = p.lstat()
        except (ValueError, OSError):
            return None
        return _Entry(os.fsencode(p), b"", None if stat.S_ISREG(st.st_mode) else _kind(st.st_mode), st)

    def get(self, key: str, version_id: str | None = None, *, max_bytes: int | None = None) -> bytes:
        with os.fdopen(self._open_key(key, version_id), "rb") as fh:
            if max_bytes is None:
                return fh.read()
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise ObjectTooLarge(key, size, max_bytes)
            data = fh.read(max_bytes + 1)  # the file may have grown since the stat
            if len(data) > max_bytes:
                raise ObjectTooLarge(key, None, max_bytes)
            return data

    def get_into(self, key: str, out: BinaryIO) -> int:
        with os.fdopen(self._open_key(key, None), "rb") as fh:
            start = out.tell()
            shutil.copyfileobj(fh, out, 1 << 20)
            return out.tell() - start

    def _open_key(self, key: str, version_id: str | None) -> int:
        """A descriptor on the object's file; KeyError when there is none to read."""
        if version_id is not None:
            raise KeyError(f"{key} (version {version_id}): a local folder keeps no versions")
        ent = self._entry(key)
        if ent.not_regular is not None:
            raise KeyError(f"{key}: {ent.not_regular}, not read")
        try:
            fd = self._open_regular(ent)
        except FileNotFoundError as exc:
            self._index.pop(key, None)
            raise KeyError(key) from exc
        except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            raise KeyError(f"{key}: {exc}") from exc
        except OSError as exc:
            if exc.errno in (getattr(os, "ELOOP", -1),):
                raise KeyError(f"{key}: link") from exc
            raise
        return fd

    def put(self, key: str, data: bytes | BinaryIO, content_type: str = "application/octet-stream") -> None:
        p = self._path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:32]}{_TMP_MARK}", dir=p.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    fh.write(data)
                else:  # a binary file (base.ObjectStore.put)
                    shutil.copyfileobj(data, fh, 1 << 20)
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
        self._index.pop(key, None)

    def put_many(self, items: Iterable[tuple[str, bytes | BinaryIO, str]]) -> None:
        """``put`` each ``(key, data, content_type)`` in turn (base.ObjectStore.put_many)."""
        for key, data, content_type in items:
            self.put(key, data, content_type)

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except ValueError:
            return False

    def list_keys(self, prefix: str = "") -> list[str]:
        return [k for k, _ in self._walk(prefix)]

    def url(self, key: str) -> str:
        ent = self._index.get(key)
        if ent is not None:
            return os.fsdecode(ent.path)
        return str(self._path(key))
