"""The version document — what the pipeline stores for one processed object version — and how the
documents are stored: the pipeline's *state* (``state/<campaign>/versions/``, keys in
:class:`~formintake.keys.ResultKeys`).

Layout (fifth pass; issue 9). Documents are stored many to an object, never one object per version:

* **segments** ``versions/seg-<run_id>-<written>-<token>.jsonl``: the documents a run processed, written
  by :class:`SegmentWriter` behind the extraction every :data:`SEGMENT_DOCS` documents or every
  :data:`SEGMENT_SECONDS` seconds, whichever comes first. A document is handed on (yielded by
  ``pipeline.process_versions``) only once its segment is stored, so a run that dies keeps every segment
  it finished; what it loses, and the next run redoes, is bounded: the documents not yet in a stored
  segment — at most one segment's worth being filled and the one being written, per running batch.
* **the index** ``versions/index.jsonl``: every document (the *base*) and the names of the segments it
  already holds (``covers``). Rewritten whole only when the segments beside it have grown past
  :data:`COMPACT_FRACTION` of it (or number :data:`MAX_SEGMENTS`), so a run that changed one version
  writes one small segment and leaves the index as it is: O(changed) state.

Both are JSON lines: a header line (``{"formintake": "version documents", "format": 2, …}``), then a
document a line (the record's per-field detail packed, as models.Packed serialises it with the context
``{"packed": True}``). The plan reads the state with **one listing** of ``versions/`` and a GET per object
(the index and the segments it does not cover: a few), never a GET per version (:func:`read_state`).

Older layouts still read (an upgrade needs nothing): one document per version ``versions/<vid>.json``,
and ``state/<campaign>/versions-index.json`` (one JSON object, in one line or a document a line, packed or
full). They count only while no ``index.jsonl`` exists; the first run that finishes writes one holding
every document it read, and from then on they are ignored (not deleted: the pipeline deletes nothing).

Which document wins for a version read from several objects: a segment over the index, a later segment
over an earlier one (by name: run id, then the time it was written); in the older layout the index over
a version's own document.
"""

from __future__ import annotations

import datetime as dt
import queue
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson
from pydantic import TypeAdapter

from formintake.keys import ResultKeys
from formintake.models import Held, Record, SourceInfo

# a segment is stored every SEGMENT_DOCS documents or SEGMENT_SECONDS after its first one, whichever first
SEGMENT_DOCS = 100
SEGMENT_SECONDS = 1.5
# the index is rewritten (compacted) when the documents in segments beside it exceed this share of its
# own, or when the plan would read this many segments (a GET each)
COMPACT_FRACTION = 0.25
MAX_SEGMENTS = 32

FORMAT = 2
_HEADER = {"formintake": "version documents", "format": FORMAT}
CONTENT_TYPE = "application/x-ndjson"


class VersionDoc(Held):
    """A held model (models.Held): every field reported as set, its run ids interned."""

    _INTERNED = ("first_seen_run", "processed_run")

    vid: str  # version_id_of(the object version): stable, file-safe
    first_seen_run: str  # the run that first took the version in (kept by a --full re-run): corrections are judged by it
    processed_run: str  # the run that last extracted it
    extract_ms: float | None = None
    same_content_as: str | None = None  # vid whose extraction was reused (same key, same bytes)
    record: Record  # the version's own record (before linking and batch rules)

    @property
    def source(self) -> SourceInfo:
        return self.record.source


def doc_line(doc: VersionDoc) -> bytes:
    """One document as a line of a segment or the index (detail packed)."""
    return doc.model_dump_json(context={"packed": True}).encode() + b"\n"


def _header(**more) -> bytes:
    return orjson.dumps({**_HEADER, **more}) + b"\n"


# --------------------------------------------------------------------------- keys


SEGMENT_PREFIX, INDEX_NAME = "seg-", "index.jsonl"  # ResultKeys.version_segment / versions_base


def segment_key(keys: ResultKeys, run_id: str, token: str) -> str:
    return keys.version_segment(run_id, dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f"), token)


def _run_of(segment: str) -> str:
    return segment.rsplit("/", 1)[-1][len(SEGMENT_PREFIX):].split("-", 1)[0]


@dataclass
class Listed:
    """What one listing of ``versions/`` holds, by layout."""

    index: str | None = None
    segments: list[str] = field(default_factory=list)  # in the order they apply (oldest first)
    legacy: dict[str, str] = field(default_factory=dict)  # vid -> its own document (older layout)


def list_state(results, keys: ResultKeys) -> Listed:
    out = Listed()
    for k in results.list_keys(keys.versions_prefix):
        name = k[len(keys.versions_prefix):]
        if "/" in name:
            continue
        if name == INDEX_NAME:
            out.index = k
        elif name.startswith(SEGMENT_PREFIX) and name.endswith(".jsonl"):
            out.segments.append(k)
        elif name.endswith(".json"):
            out.legacy[name[:-5]] = k
    out.segments.sort()
    return out


# --------------------------------------------------------------------------- reading


@dataclass
class VersionState:
    """Every stored version document (vid -> document, or what ``read_state(what=…)`` asked for) and what
    they were read from: what finishing a run needs to decide whether to rewrite the index."""

    docs: dict[str, VersionDoc | None]
    index_docs: int = 0  # documents in the index (format 2) as read
    covers: list[str] = field(default_factory=list)  # segments the index holds (its header)
    segments: list[str] = field(default_factory=list)  # segments read beside it
    segment_docs: int = 0  # documents in them
    older: bool = False  # read (also) from the older layout: the next finished run writes an index


def _parse_doc(line: bytes) -> tuple[str, VersionDoc]:
    doc = VersionDoc.model_validate_json(line)
    return doc.vid, doc


def _parse_vid(line: bytes) -> tuple[str, None]:
    return orjson.loads(line)["vid"], None


def _parse_first_seen(line: bytes) -> tuple[str, str]:
    doc = orjson.loads(line)
    return doc["vid"], doc["first_seen_run"]


# read_state(what=…): each document as a VersionDoc, nothing (its id only), or the run that first saw it
_PARSE = {"docs": _parse_doc, "vids": _parse_vid, "first_seen": _parse_first_seen}
_PROJECT = {"docs": lambda d: d, "vids": lambda d: None, "first_seen": lambda d: d.first_seen_run}


def _read_lines(fh: BinaryIO, parse: Callable[[bytes], tuple[str, object]]) -> tuple[dict | None, dict]:
    """A segment or the index from its start: (its header, or None when it is not format 2; vid -> doc).
    A line that does not parse is skipped: that version is redone, never trusted."""
    header = None
    docs: dict = {}
    for n, line in enumerate(fh):
        if n == 0:
            try:
                header = orjson.loads(line)
            except orjson.JSONDecodeError:
                return None, {}
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                return None, {}
            continue
        try:
            vid, doc = parse(line)
        except (ValueError, KeyError, TypeError):
            continue
        docs[vid] = doc
    return header, docs


def read_state(results, keys: ResultKeys, *, what: str = "docs", listed: Listed | None = None) -> VersionState:
    """Every stored version document: one listing of ``versions/``, then the index and each segment it does
    not cover (or, in the older layout, ``versions-index.json`` and the version documents it lacks).
    ``what``: ``"docs"`` (VersionDoc), ``"vids"`` (None: the ids only) or ``"first_seen"`` (the run that
    first took the version in) as the values of ``docs``; the last two are read without pydantic."""
    listed = list_state(results, keys) if listed is None else listed
    parse = _PARSE[what]
    state = VersionState({})
    header = None
    if listed.index is not None:
        with tempfile.TemporaryFile() as fh:
            try:
                results.get_into(listed.index, fh)
            except KeyError:  # gone since the listing
                pass
            else:
                fh.seek(0)
                header, state.docs = _read_lines(fh, parse)
    if header is not None:
        state.index_docs = len(state.docs)
        state.covers = list(header.get("covers") or [])
    else:  # no index (or an unreadable one): the older layout counts, and every segment
        state.docs = {}
        if listed.legacy or listed.index is not None:
            state.older = True
            older = _read_older(results, keys, listed, what == "vids")
            project = _PROJECT[what]
            state.docs = {vid: project(d) for vid, d in older.items()} if what != "vids" else older
    covered = set(state.covers)
    for key in listed.segments:
        if key in covered:
            continue
        with tempfile.TemporaryFile() as fh:
            try:
                results.get_into(key, fh)
            except KeyError:
                continue
            fh.seek(0)
            seg_header, docs = _read_lines(fh, parse)
        if seg_header is None:
            continue
        state.segments.append(key)
        state.segment_docs += len(docs)
        state.docs.update(docs)
    return state


# The older index (before the fifth pass): one JSON object vid -> document (a document a line since the
# fourth pass, in one line before; the detail packed or as full JSON).
_INDEX = TypeAdapter(dict[str, VersionDoc])
_VID = TypeAdapter(str)


def read_versions_index(data: bytes | None) -> dict[str, VersionDoc]:
    """An older index given whole as bytes (any of its layouts); {} when unreadable."""
    try:
        return _INDEX.validate_json(data) if data else {}
    except ValueError:  # unreadable: every version is read from its own document instead
        return {}


def _read_index_lines(fh: BinaryIO, vids_only: bool = False) -> dict:
    """An older index in ``fh`` (from its start) a document a line; any other layout is read whole."""
    docs: dict = {}
    try:  # a line longer than 1 MiB is not one document (an older index in one line): read whole
        for n, line in enumerate(iter(lambda: fh.readline(1 << 20), b"")):
            # '{"vid":{…},\n' … '"vid":{…},\n' … '"vid":{…}}'
            body = line[1:] if n == 0 else line
            body = body[:-2] if body.endswith(b",\n") else body[:-1]
            cut = body.index(b'":') + 1
            vid = _VID.validate_json(body[:cut])
            docs[vid] = None if vids_only else VersionDoc.model_validate_json(body[cut + 1:])
        return docs
    except ValueError:  # not a document a line (an index in one line, or a damaged one): read whole
        fh.seek(0)
        whole = read_versions_index(fh.read())
        return dict.fromkeys(whole) if vids_only else whole


def _read_older(results, keys: ResultKeys, listed: Listed, vids_only: bool) -> dict:
    """The older layout: versions-index.json (one GET), then each version's own document it lacks (a run
    that died before finishing wrote them); the index's document wins."""
    docs: dict = {}
    if listed.legacy:
        with tempfile.TemporaryFile() as fh:
            try:
                results.get_into(keys.versions_index, fh)
            except KeyError:
                pass
            else:
                fh.seek(0)
                docs = _read_index_lines(fh, vids_only)
    for vid, key in listed.legacy.items():
        if vid in docs:
            continue
        if vids_only:
            docs[vid] = None
            continue
        try:
            docs[vid] = VersionDoc.model_validate_json(results.get(key))
        except Exception:  # unreadable (or gone): redone, not trusted
            continue
    return docs


def stored_vids(results, keys: ResultKeys) -> set[str]:
    """The ids of every version with a stored document (what `formintake watch` takes as processed)."""
    return set(read_state(results, keys, what="vids").docs)


# --------------------------------------------------------------------------- writing


class SegmentWriter:
    """Stores version documents behind the caller, many to an object (one thread).

    ``add`` a document; ``stored()`` returns those whose segment has been stored since the last call, and
    once none are left raises the failure of a write that failed (the run stops, nothing is silently lost;
    what was stored before it is still handed on). ``close()`` stores the rest and waits; ``stored()`` then
    hands it on. A segment is written once it holds ``docs`` documents or ``seconds`` after its first one
    was added. At most ``2 × docs`` documents wait unstored: ``add`` blocks beyond that (a slow store
    slows the run instead of holding more, and bounds what a run that dies loses)."""

    _CLOSE = object()

    def __init__(self, results, keys: ResultKeys, run_id: str, *, docs: int | None = None,
                 seconds: float | None = None) -> None:
        self.results, self.keys, self.run_id = results, keys, run_id
        self.docs = docs or SEGMENT_DOCS
        self.seconds = SEGMENT_SECONDS if seconds is None else seconds
        self.token = secrets.token_hex(4)  # several batches (threads, processes, Dask workers) write at once
        self.written: list[str] = []  # segment keys
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._done: list[VersionDoc] = []
        self._waiting = 0  # added, not yet stored
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def add(self, doc: VersionDoc) -> None:
        """Hand a document over (after a failed write it is dropped: ``stored()`` raises the failure)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="formintake-segments", daemon=True)
            self._thread.start()
        with self._cond:
            while self._error is None and self._waiting >= 2 * self.docs:
                self._cond.wait()
            if self._error is not None:
                return
            self._waiting += 1
        self._queue.put(doc)

    def stored(self) -> list[VersionDoc]:
        with self._cond:
            out, self._done = self._done, []
            if not out and self._error is not None:
                raise self._error
        return out

    def close(self) -> None:
        """Store what was added and stop (also when the run stops for another reason)."""
        if self._thread is not None and not self._closed:
            self._closed = True
            self._queue.put(self._CLOSE)
            self._thread.join()

    def _loop(self) -> None:
        batch: list[VersionDoc] = []
        deadline = 0.0
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()) if batch else None)
            except queue.Empty:
                item = None  # the segment's time is up
            if item is self._CLOSE:
                if batch:
                    self._write(batch)
                return
            if item is not None:
                if not batch:
                    deadline = time.monotonic() + self.seconds
                batch.append(item)
                if len(batch) < self.docs and time.monotonic() < deadline:
                    continue
            self._write(batch)
            batch = []

    def _write(self, batch: list[VersionDoc]) -> None:
        if self._error is not None:  # the run is failing: nothing more is written
            return
        try:
            key = segment_key(self.keys, self.run_id, self.token)
            data = b"".join([_header(run_id=self.run_id, documents=len(batch)), *map(doc_line, batch)])
            self.results.put(key, data, CONTENT_TYPE)
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
            with self._cond:
                self._error = exc
                self._cond.notify_all()
            return
        with self._cond:
            self.written.append(key)
            self._done.extend(batch)
            self._waiting -= len(batch)
            self._cond.notify_all()


def needs_index(state: VersionState, processed: int) -> bool:
    """Whether a finished run rewrites the index: the state was (also) in the older layout, or the
    documents in segments beside the index (the plan read ``state.segment_docs``; this run stored
    ``processed``) exceed COMPACT_FRACTION of it, or the plan read MAX_SEGMENTS segments or more."""
    if state.older:
        return True
    beside = state.segment_docs + processed
    return beside > 0 and (beside > COMPACT_FRACTION * state.index_docs or len(state.segments) >= MAX_SEGMENTS)


def write_index(results, keys: ResultKeys, docs: Iterable[VersionDoc], state: VersionState, run_id: str) -> None:
    """Rewrite the index: every document given (those the run finished with and any other the state held),
    covering the segments the plan read and every segment of this run (stored before its documents were
    handed on, so all of them are listed now). One listing; made in a temporary file (55 MB at 10,000
    versions, never held)."""
    listed = list_state(results, keys)
    read = set(state.covers) | set(state.segments)
    covers = sorted(k for k in listed.segments if k in read or _run_of(k) == run_id)
    docs = sorted(docs, key=lambda d: d.vid)
    with tempfile.TemporaryFile() as fh:
        fh.write(_header(run_id=run_id, documents=len(docs), covers=covers))
        fh.writelines(map(doc_line, docs))
        fh.seek(0)
        results.put(keys.versions_base, fh, CONTENT_TYPE)
