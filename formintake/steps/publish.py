"""Publish: write the run's records and reports, switch ``latest/``, append the run to the history.

Order matters to a reader of the results store: records and the run's own reports first, then
``latest/`` (its ``manifest.json`` last, so a reader can tell a finished switch), then ``runs.json``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, BinaryIO

import orjson

from formintake import reports
from formintake.clock import now_iso
from formintake.keys import ResultKeys
from formintake.models import Record
from formintake.steps.inputs import code_digest
from formintake.steps.compare import Comparison, findings_snapshot, load_json
from formintake.storage.base import ObjectStore
from formintake.timing import Laps

JSON, CSV = "application/json", "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RUNS_KEPT = 200  # runs.json keeps the last this many runs
REPORT_FILES = ("exceptions.json", "exceptions.csv", "exceptions.xlsx", "exceptions.html")  # each run's reports


def dumps(obj: Any) -> bytes:
    """How every JSON document in the results store is written: UTF-8, keys sorted, indented
    (orjson, about ten times the json module; the json module only for text orjson refuses)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # e.g. a lone surrogate
        return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8", "surrogatepass")


def durable_record(r: Record) -> Record:
    """The record as stored under records/: what the application *is*, not how it compares with the
    previous run (no ``change`` marks, no ``resolved_findings``)."""
    return r.model_copy(update={"findings": [f.model_copy(update={"change": None}) for f in r.findings],
                                "resolved_findings": []})


INDEX_FORMAT = 2  # records-index.json: {"format", "files": {key: digest}, "jsonl": [digest per line]}


def record_digest(r: Record) -> str:
    """What a durable record *is*, without serialising it as the store does (~20 µs, not ~400 µs): sha256
    of the code, the record as pydantic's JSON (findings, status, source …; its per-field states, raw text
    and evidence in their packed form) and its field values as plain data. Equal digests mean equal
    records, so the bytes written for it before still stand."""
    code = code_digest().encode()
    try:  # field_states, raw and evidence as held (models.Packed: their compressed JSON, not unpacked)
        light = r.__pydantic_serializer__.to_json(r, exclude={"fields"}, context={"packed": True})
        extracted = orjson.dumps(r.fields, option=orjson.OPT_NON_STR_KEYS)
    except Exception:  # text either refuses (a lone surrogate, a huge int): the stored form instead
        return hashlib.sha256(code + b"\0" + dumps(r.model_dump(mode="json"))).hexdigest()
    return hashlib.sha256(code + b"\1" + light + b"\0" + extracted).hexdigest()


def snapshot_into(current: Sequence[Record], out: BinaryIO) -> None:
    """``dumps(findings_snapshot(current))`` written into ``out`` an application at a time (at 10,000
    applications the snapshot is tens of MB: never whole in memory); same bytes."""
    def parts() -> None:
        by_id = {r.application_id: r for r in current}  # as the snapshot's dict takes them (the last one wins)
        sep = b"{\n  "
        for app_id in sorted(by_id):  # orjson's OPT_SORT_KEYS order: by code point
            findings = [f.model_dump(mode="json") for f in by_id[app_id].findings]
            value = orjson.dumps(findings, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
            out.write(sep + orjson.dumps(app_id) + b": " + value.replace(b"\n", b"\n  "))
            sep = b",\n  "
        out.write(b"{}" if sep == b"{\n  " else b"\n}")

    reports.parts_or_whole(out, parts, lambda: dumps(findings_snapshot(current)))  # orjson refuses: dumps' json form


# each run's reports, in the order they are written, with the writer that streams each into a file
REPORT_WRITERS = (
    ("exceptions.json", reports.exceptions_json_into, JSON),
    ("exceptions.csv", reports.exceptions_csv_into, CSV),
    ("exceptions.xlsx", reports.exceptions_xlsx_into, XLSX),
    ("exceptions.html", reports.exceptions_html_into, "text/html; charset=utf-8"),
)
assert tuple(name for name, _, _ in REPORT_WRITERS) == REPORT_FILES


def _file_sha256(fh: BinaryIO) -> str:
    fh.seek(0)
    return hashlib.file_digest(fh, "sha256").hexdigest()


class _StoredBehind:
    """PUTs made by two threads while the next object is being made (a store's write is mostly the
    server's time: at 1,000 applications applications.jsonl is 13 MB). :meth:`wait` before anything that
    must come after them (an index describing them, ``latest/``, its manifest, runs.json): it raises the
    first failed write. A file handed to :meth:`put` is read from where it stands: the caller keeps it open
    and untouched until then. Leaving the ``with`` waits too (after an error, without raising the writes')."""

    def __init__(self, results: ObjectStore, threads: int = 2) -> None:
        self.results = results
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="formintake-publish")
        self._pending: list[Future] = []

    def put(self, key: str, data: bytes | BinaryIO, content_type: str) -> None:
        self._pending.append(self._pool.submit(self.results.put, key, data, content_type))

    def wait(self) -> None:
        pending, self._pending = self._pending, []
        failed = None
        for f in pending:
            exc = f.exception()
            failed = failed or exc
        if failed is not None:
            raise failed

    def __enter__(self) -> "_StoredBehind":
        return self

    def __exit__(self, exc_type, *_: Any) -> None:
        try:
            if exc_type is None:
                self.wait()
            else:
                futures.wait(self._pending)
        finally:
            self._pool.shutdown()


def publish(results: ObjectStore, keys: ResultKeys, inp: reports.ReportInput, comparison: Comparison,
            run_entry: dict[str, Any]) -> dict[str, str]:
    """Write everything; ``run_entry`` is this run's line in runs.json (completed_at is added here).
    Returns the keys of the run's reports by file name.

    Each report is written into a temporary file and stored from there (by a writer thread, while the
    next is made) — at 10,000 applications they are tens of MB each: none is held in memory; the files
    are kept until ``latest/`` has been switched from them, ``latest/manifest.json`` last."""
    lap = Laps()
    current = inp.records
    write_records(results, keys, current)
    report_keys, digests = {}, {}
    with ExitStack() as kept:
        with _StoredBehind(results) as behind:  # left (every write waited for) before the files close
            fh = kept.enter_context(tempfile.TemporaryFile())
            snapshot_into(current, fh)
            fh.seek(0)
            behind.put(keys.findings_snapshot(inp.run_id), fh, JSON)
            lap("records")

            files: dict[str, tuple[BinaryIO, str]] = {}
            for name, write_into, ctype in REPORT_WRITERS:
                fh = kept.enter_context(tempfile.TemporaryFile())
                write_into(inp, fh)
                digests[name] = _file_sha256(fh)
                fh.seek(0)
                report_keys[name] = keys.report(inp.run_id, name)
                behind.put(report_keys[name], fh, ctype)
                files[name] = (fh, ctype)
            behind.wait()  # the run's own reports (and the snapshot) stored: now latest/ from the same files
            for name, (fh, ctype) in files.items():
                fh.seek(0)
                behind.put(keys.latest(name), fh, ctype)
    results.put(keys.latest("manifest.json"), dumps({"run_id": inp.run_id, "files": digests}), JSON)

    append_run(results, keys, comparison.history, run_entry)
    lap("reports")
    return report_keys


def write_records(results: ObjectStore, keys: ResultKeys, records: Sequence[Record]) -> None:
    """records/<campaign>/: each record's durable file (:func:`durable_record`, made one at a time) and
    applications.jsonl / .csv / .xlsx, each written only when its bytes change (a correction rewrites one
    record file and the three tables).

    Incremental: ``state/<campaign>/records-index.json`` keeps each record's :func:`record_digest` and
    the digests of applications.jsonl's lines in order (and the sha256 of ``state/<campaign>/
    applications-rows.bin``, the tables' rows as rendered: a row is rendered only for a changed record).
    A record whose digest is unchanged is not serialised again: its file stands and its jsonl line is taken from the last applications.jsonl
    (checked against the sha256 the index holds for it). When no record changed at all, the three
    tables stand as they are."""
    prev = load_json(results, keys.records_index, {})
    if prev.get("format") != INDEX_FORMAT:  # an older index (sha256 per file): every record is compared anew
        prev = {}
    prev_files: dict[str, str] = prev.get("files") or {}
    prev_lines: list[str] = prev.get("jsonl") or []
    present = set(results.list_keys(keys.records_file(""))) if prev_files else set()  # one listing, no HEAD each
    record_keys = [keys.record(r.application_id) for r in records]
    digests = [record_digest(durable_record(r)) for r in records]
    changed = [prev_files.get(key) != digest or key not in present for key, digest in zip(record_keys, digests)]
    files: dict[str, str] = dict(zip(record_keys, digests))
    tables = {name: keys.records_file(name) for name in ("applications.jsonl", "applications.csv", "applications.xlsx")}
    unchanged_tables = (digests == prev_lines and not any(changed)
                        and all(k in prev_files and k in present for k in tables.values()))
    if unchanged_tables:
        files.update({k: prev_files[k] for k in (*tables.values(), keys.application_rows) if k in prev_files})
    else:
        # one pass: a changed record is serialised once, for its file and its line. The three tables go
        # to temporary files as they are made and are written to the store from there (at 10,000
        # records applications.jsonl is ~130 MB: never held in memory)
        reusable = _PreviousLines(results, tables["applications.jsonl"], prev_files, prev_lines,
                                  {d for d, new in zip(digests, changed) if not new})
        # the tables show no per-run marks (changes, resolved findings): made from the records as given;
        # the row of a record whose digest is unchanged is taken as rendered last time
        rows = _previous_rows(results, keys.application_rows, prev_files, reports.app_rows_key(records, code_digest()))
        with (rows, tempfile.TemporaryFile() as jsonl, tempfile.TemporaryFile() as csv_f,
              tempfile.TemporaryFile() as xlsx_f,
              _StoredBehind(results) as behind):  # the tables stored while the next is made; all before the index
            sha = hashlib.sha256()

            def record_files():  # each changed record's file, stored by put_many (S3: several at once)
                for r, key, digest, new in zip(records, record_keys, digests, changed):
                    d = None
                    if new:
                        d = durable_record(r).model_dump(mode="json")
                        yield key, dumps(d), JSON
                    line = reusable.get(digest)
                    if line is None:
                        line = reports.jsonl_record(d if d is not None else durable_record(r).model_dump(mode="json"))
                    jsonl.write(line)
                    sha.update(line)

            results.put_many(record_files())
            reusable.close()
            jsonl_key = tables["applications.jsonl"]
            files[jsonl_key] = sha.hexdigest()
            if prev_files.get(jsonl_key) != files[jsonl_key] or jsonl_key not in present:
                jsonl.seek(0)
                behind.put(jsonl_key, jsonl, "application/x-ndjson")
            reports.applications_tables_into(records, csv_f, xlsx_f, rows, digests)
            rows_f = rows.finished()
            files[keys.application_rows] = _file_sha256(rows_f)
            if prev_files.get(keys.application_rows) != files[keys.application_rows]:
                rows_f.seek(0)
                behind.put(keys.application_rows, rows_f, "application/octet-stream")
            for name, fh, ctype in (("applications.csv", csv_f, CSV), ("applications.xlsx", xlsx_f, XLSX)):
                key = tables[name]
                files[key] = _file_sha256(fh)
                if prev_files.get(key) != files[key] or key not in present:
                    fh.seek(0)
                    behind.put(key, fh, ctype)
    index = {"format": INDEX_FORMAT, "files": files, "jsonl": digests}
    if index != prev:
        results.put(keys.records_index, dumps(index), JSON)


def _previous_rows(results: ObjectStore, key: str, prev_files: dict[str, str], rows_key: str) -> reports.AppRows:
    """The application rows rendered by the last run (:class:`reports.AppRows`), when the stored file is
    the one the index describes (else every row is rendered anew)."""
    if key in prev_files:
        fh = tempfile.TemporaryFile()
        try:
            results.get_into(key, fh)
            if _file_sha256(fh) == prev_files[key]:
                return reports.AppRows(rows_key, fh)  # it closes the file
        except KeyError:
            pass
        except BaseException:
            fh.close()
            raise
        fh.close()
    return reports.AppRows(rows_key)


class _PreviousLines:
    """The last applications.jsonl's lines by the digest of their record, when that file is still exactly
    what the index says was written (else none is reused). The file is copied into a temporary file
    (``get_into``, in chunks; its sha256 checked) and only each wanted line's place in it is kept: at 10,000
    records the file is ~130 MB, never held in memory."""

    def __init__(self, results: ObjectStore, key: str, prev_files: dict[str, str], prev_lines: list[str],
                 wanted: set[str]) -> None:
        self._at: dict[str, tuple[int, int]] = {}
        self._fh = tempfile.TemporaryFile()
        if not prev_lines or key not in prev_files or not wanted.intersection(prev_lines):
            return
        try:
            size = results.get_into(key, self._fh)
        except KeyError:
            return
        if _file_sha256(self._fh) != prev_files[key]:
            return
        self._fh.seek(0)
        at, pos = {}, 0
        for digest in prev_lines:  # a JSON line holds no raw newline; the file ends with one
            line = self._fh.readline()
            if not line.endswith(b"\n"):
                return
            if digest in wanted:
                at[digest] = (pos, len(line))
            pos += len(line)
        if pos == size:
            self._at = at

    def get(self, digest: str) -> bytes | None:
        place = self._at.get(digest)
        if place is None:
            return None
        self._fh.seek(place[0])
        return self._fh.read(place[1])

    def close(self) -> None:
        self._fh.close()


def append_run(results: ObjectStore, keys: ResultKeys, history: dict[str, Any], run_entry: dict[str, Any]) -> None:
    """Add this run's line (with ``completed_at``) to runs.json, the last thing a complete run writes."""
    history["runs"].append({**run_entry, "completed_at": now_iso(precise=True)})
    history["runs"] = history["runs"][-RUNS_KEPT:]
    results.put(keys.runs, dumps(history), JSON)
