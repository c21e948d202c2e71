"""Compare: mark every finding new / persisting against the baseline run, and list the findings
resolved since then.

The baseline is the last run whose inputs (the set of version ids) differed from this run's: re-running
on unchanged inputs keeps comparing with the same baseline instead of with itself. A run that changed
nothing (steps.inputs) stands for the run whose outputs it kept (``same_as``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from formintake.keys import ResultKeys
from formintake.models import Finding, Record
from formintake.storage.base import ObjectStore


@dataclass
class Comparison:
    baseline_run_id: str | None
    inputs_digest: str  # of this run's version ids
    new: int  # findings new since the baseline
    resolved: int  # findings of the baseline gone now
    history: dict[str, Any]  # runs.json as read (publish appends this run)


def load_json(store: ObjectStore, key: str, default: Any) -> Any:
    try:
        return json.loads(store.get(key))
    except KeyError:
        return default


def inputs_digest(vids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(vids)).encode()).hexdigest()


def compare_with_previous(results: ObjectStore, keys: ResultKeys, current: list[Record], vids: list[str]) -> Comparison:
    """Set ``finding.change`` and ``record.resolved_findings`` on ``current`` (in place)."""
    history = load_json(results, keys.runs, {"runs": []})
    digest = inputs_digest(vids)
    last = history["runs"][-1] if history["runs"] else None
    if last and last["digest"] == digest:
        baseline_id = last.get("baseline")
    else:  # a run that changed nothing wrote no snapshot: the run whose outputs it kept did
        baseline_id = (last.get("same_as") or last["run_id"]) if last else None
    with tempfile.TemporaryFile() as fh:
        baseline = _snapshot(results, keys.findings_snapshot(baseline_id), fh) if baseline_id else {}
        new_count, resolved_count = _mark(current, baseline, baseline_id)
    return Comparison(baseline_id, digest, new_count, resolved_count, history)


class _Snapshot:
    """A stored findings snapshot read an application at a time: where each application's list lies in
    the file (at 10,000 applications the snapshot is ~35 MB, ~50 MB as dicts: never parsed whole)."""

    def __init__(self, fh: BinaryIO, where: dict[str, tuple[int, int]]) -> None:
        self.fh, self.where = fh, where

    def get(self, app_id: str, default: Any = None) -> Any:
        at = self.where.get(app_id)
        if at is None:
            return default
        self.fh.seek(at[0])
        return json.loads(self.fh.read(at[1] - at[0]).rstrip().rstrip(b","))


def _snapshot(results: ObjectStore, key: str, fh: BinaryIO) -> Mapping[str, list[dict]]:
    """The snapshot at ``key`` ({} when there is none), fetched into ``fh``. As written (steps.publish.dumps:
    indented by two, one member a line at the top level) it is indexed by application; any other layout
    is parsed whole."""
    try:
        results.get_into(key, fh)
    except KeyError:
        return {}
    fh.seek(0)
    where: dict[str, tuple[int, int]] = {}
    if fh.readline() == b"{\n":
        pos, app_id, start = fh.tell(), None, 0
        for line in iter(fh.readline, b""):
            if line.startswith(b'  "') or line.rstrip() == b"}":  # a member starts, or the object ends
                if app_id is not None:
                    where[app_id] = (start, pos)
                if line.rstrip() == b"}":
                    return _Snapshot(fh, where)
                cut = line.index(b'": ') + 1
                app_id, start = json.loads(line[2:cut]), pos + cut + 2
            pos += len(line)
    fh.seek(0)
    return json.loads(fh.read())


def _mark(current: list[Record], baseline: Mapping[str, list[dict]], baseline_id: str | None) -> tuple[int, int]:
    new_count = resolved_count = 0
    for r in current:
        prev = {(f["code"], f["field"]): f for f in baseline.get(r.application_id, [])}
        ids = set()
        for f in r.findings:
            ids.add(f.identity())
            if baseline_id:
                f.change = "persisting" if f.identity() in prev else "new"
                new_count += f.change == "new"
        if baseline_id:
            r.resolved_findings = [Finding.model_validate({**f, "change": "resolved"}) for k, f in prev.items() if k not in ids]
            resolved_count += len(r.resolved_findings)
    return new_count, resolved_count


def findings_snapshot(current: list[Record]) -> dict[str, list[dict]]:
    """What the next run compares with."""
    return {r.application_id: [f.model_dump(mode="json") for f in r.findings] for r in current}
