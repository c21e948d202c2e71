"""Publish: write the run's records and reports, switch ``latest/``, append the run to the history.

Order matters to a reader of the results store: records and the run's own reports first, then
``latest/`` (its ``manifest.json`` last, so a reader can tell a finished switch), then ``runs.json``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from formintake import reports
from formintake.clock import now_iso
from formintake.keys import ResultKeys
from formintake.models import Record
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


def publish(results: ObjectStore, keys: ResultKeys, inp: reports.ReportInput, comparison: Comparison,
            run_entry: dict[str, Any]) -> dict[str, str]:
    """Write everything; ``run_entry`` is this run's line in runs.json (completed_at is added here).
    Returns the keys of the run's reports by file name."""
    lap = Laps()
    current = inp.records
    # the durable records carry no per-run marks (new / persisting / resolved live in the run's reports
    # and snapshot), and each is written only when its bytes changed: a correction rewrites one file
    durable = [durable_record(r) for r in current]
    written = load_json(results, keys.records_index, {})
    present = set(results.list_keys(keys.records_file(""))) if written else set()  # one listing, no HEAD each
    index: dict[str, str] = {}

    def put_if_changed(key: str, data: bytes, ctype: str) -> None:
        digest = hashlib.sha256(data).hexdigest()
        index[key] = digest
        if written.get(key) != digest or key not in present:
            results.put(key, data, ctype)

    for r in durable:
        put_if_changed(keys.record(r.application_id), dumps(r.model_dump(mode="json")), JSON)
    put_if_changed(keys.records_file("applications.jsonl"), reports.write_applications_jsonl(durable), "application/x-ndjson")
    put_if_changed(keys.records_file("applications.csv"), reports.write_applications_csv(durable), CSV)
    put_if_changed(keys.records_file("applications.xlsx"), reports.write_applications_xlsx(durable), XLSX)
    if index != written:
        results.put(keys.records_index, dumps(index), JSON)
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


def append_run(results: ObjectStore, keys: ResultKeys, history: dict[str, Any], run_entry: dict[str, Any]) -> None:
    """Add this run's line (with ``completed_at``) to runs.json, the last thing a complete run writes."""
    history["runs"].append({**run_entry, "completed_at": now_iso(precise=True)})
    history["runs"] = history["runs"][-RUNS_KEPT:]
    results.put(keys.runs, dumps(history), JSON)
