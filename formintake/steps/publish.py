"""Publish: write the run's records and reports, switch ``latest/``, append the run to the history.

Order matters to a reader of the results store: records and the run's own reports first, then
``latest/`` (its ``manifest.json`` last, so a reader can tell a finished switch), then ``runs.json``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from typing import Any

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


def publish(results: ObjectStore, keys: ResultKeys, inp: reports.ReportInput, comparison: Comparison,
            run_entry: dict[str, Any]) -> dict[str, str]:
    """Write everything; ``run_entry`` is this run's line in runs.json (completed_at is added here).
    Returns the keys of the run's reports by file name."""
    lap = Laps()
    current = inp.records
    write_records(results, keys, [durable_record(r) for r in current])
    results.put(keys.findings_snapshot(inp.run_id), dumps(findings_snapshot(current)), JSON)
    lap("records")

    files = {
        "exceptions.json": (reports.write_exceptions_json(inp), JSON),
        "exceptions.csv": (reports.write_exceptions_csv(inp), CSV),
        "exceptions.xlsx": (reports.write_exceptions_xlsx(inp), XLSX),
        "exceptions.html": (reports.write_exceptions_html(inp), "text/html; charset=utf-8"),
    }
    assert tuple(files) == REPORT_FILES
    report_keys = {}
    for name, (data, ctype) in files.items():
        results.put(keys.report(inp.run_id, name), data, ctype)
        report_keys[name] = keys.report(inp.run_id, name)
    manifest = {"run_id": inp.run_id, "files": {n: hashlib.sha256(d).hexdigest() for n, (d, _) in files.items()}}
    for name, (data, ctype) in files.items():
        results.put(keys.latest(name), data, ctype)
    results.put(keys.latest("manifest.json"), dumps(manifest), JSON)

    append_run(results, keys, comparison.history, run_entry)
    lap("reports")
    return report_keys


def write_records(results: ObjectStore, keys: ResultKeys, durable: list[Record]) -> None:
    """records/<campaign>/: each durable record's file and applications.jsonl / .csv / .xlsx, each
    written only when its bytes change (a correction rewrites one record file and the three tables).

    Incremental: ``state/<campaign>/records-index.json`` keeps each record's :func:`record_digest` and
    the digests of applications.jsonl's lines in order. A record whose digest is unchanged is not
    serialised again: its file stands and its jsonl line is taken from the last applications.jsonl
    (checked against the sha256 the index holds for it). When no record changed at all, the three
    tables stand as they are."""
    prev = load_json(results, keys.records_index, {})
    if prev.get("format") != INDEX_FORMAT:  # an older index (sha256 per file): every record is compared anew
        prev = {}
    prev_files: dict[str, str] = prev.get("files") or {}
    prev_lines: list[str] = prev.get("jsonl") or []
    present = set(results.list_keys(keys.records_file(""))) if prev_files else set()  # one listing, no HEAD each
    files: dict[str, str] = {}
    digests = [record_digest(r) for r in durable]
    changed: set[str] = set()
    for r, digest in zip(durable, digests):
        key = keys.record(r.application_id)
        files[key] = digest
        if prev_files.get(key) != digest or key not in present:
            changed.add(key)
    tables = {name: keys.records_file(name) for name in ("applications.jsonl", "applications.csv", "applications.xlsx")}
    unchanged_tables = (digests == prev_lines and not changed
                        and all(k in prev_files and k in present for k in tables.values()))
    if unchanged_tables:
        files.update({k: prev_files[k] for k in tables.values()})
    else:
        # one pass: a changed record is serialised once, for its file and its line. applications.jsonl
        # goes to a temporary file as it is made and is written to the store from there (at 10,000
        # records it is ~130 MB, never held in memory)
        reusable = _previous_lines(results, tables["applications.jsonl"], prev_files, prev_lines)
        with tempfile.TemporaryFile() as jsonl:
            sha = hashlib.sha256()
            for r, digest in zip(durable, digests):
                d = None
                if keys.record(r.application_id) in changed:
                    d = r.model_dump(mode="json")
                    results.put(keys.record(r.application_id), dumps(d), JSON)
                line = reusable.get(digest)
                if line is None:
                    line = reports.jsonl_record(d if d is not None else r.model_dump(mode="json"))
                jsonl.write(line)
                sha.update(line)
            del reusable
            jsonl.seek(0)
            csv_data, xlsx_data = reports.write_applications_tables(durable)
            for name, data, ctype in (("applications.jsonl", jsonl, "application/x-ndjson"),
                                      ("applications.csv", csv_data, CSV), ("applications.xlsx", xlsx_data, XLSX)):
                key = tables[name]
                files[key] = sha.hexdigest() if data is jsonl else hashlib.sha256(data).hexdigest()
                if prev_files.get(key) != files[key] or key not in present:
                    results.put(key, data, ctype)
    index = {"format": INDEX_FORMAT, "files": files, "jsonl": digests}
    if index != prev:
        results.put(keys.records_index, dumps(index), JSON)


def _previous_lines(results: ObjectStore, key: str, prev_files: dict[str, str], prev_lines: list[str]) -> dict[str, memoryview]:
    """The last applications.jsonl's lines (newline included) by the digest of their record, when that
    file is still exactly what the index says was written (else nothing is reused). Views into the file
    as read, not copies of its lines."""
    if not prev_lines or key not in prev_files:
        return {}
    try:
        data = results.get(key)
    except KeyError:
        return {}
    if hashlib.sha256(data).hexdigest() != prev_files[key]:
        return {}
    view, start, lines = memoryview(data), 0, {}
    for digest in prev_lines:  # a JSON line holds no raw newline; the file ends with one
        end = data.find(b"\n", start) + 1
        if end == 0:
            return {}
        lines[digest] = view[start:end]
        start = end
    return lines if start == len(data) else {}


def append_run(results: ObjectStore, keys: ResultKeys, history: dict[str, Any], run_entry: dict[str, Any]) -> None:
    """Add this run's line (with ``completed_at``) to runs.json, the last thing a complete run writes."""
    history["runs"].append({**run_entry, "completed_at": now_iso(precise=True)})
    history["runs"] = history["runs"][-RUNS_KEPT:]
    results.put(keys.runs, dumps(history), JSON)
