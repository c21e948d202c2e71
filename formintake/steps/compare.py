"""Compare: mark every finding new / persisting against the baseline run, and list the findings
resolved since then.

The baseline is the last run whose inputs (the set of version ids) differed from this run's: re-running
on unchanged inputs keeps comparing with the same baseline instead of with itself. A run that changed
nothing (steps.inputs) stands for the run whose outputs it kept (``same_as``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

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
    baseline = load_json(results, keys.findings_snapshot(baseline_id), {}) if baseline_id else {}
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
    return Comparison(baseline_id, digest, new_count, resolved_count, history)


def findings_snapshot(current: list[Record]) -> dict[str, list[dict]]:
    """What the next run compares with."""
    return {r.application_id: [f.model_dump(mode="json") for f in r.findings] for r in current}
