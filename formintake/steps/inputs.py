"""Inputs: the fingerprint of everything a run reads, so a run whose inputs did not change ends early.

A run's outputs are a function of: the listing of the uploads (key, version id, ETag, size, upload time
of every object version), the campaign file, the reviewers' waivers, and the code. Each complete run
stores the fingerprint of those in its runs.json entry (``inputs``). The next run lists the uploads,
reads runs.json and the waivers (three requests), and when the fingerprint equals the last complete
run's it writes nothing but its own line in runs.json (``same_as``: the run whose records and reports
stand) — no extraction, linking, rules or reports.

Never short-cut: a ``--full`` run; a run after one that holds an INTERNAL_ERROR (our failures are
retried every run); a history without a fingerprint (older runs).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from formintake import __version__
from formintake.config import Campaign
from formintake.storage.base import ObjectVersion


@functools.cache
def code_digest() -> str:
    """sha256 over the installed package's files (code, campaign files, templates) and its version:
    any change to the code makes the next run a real one."""
    h = hashlib.sha256(__version__.encode())
    # the packages' folders, found without importing them (formintake.flows would import Prefect)
    roots = sorted({Path(loc).resolve() for name in ("formintake", "formintake.extractors", "formintake.flows",
                                                     "formintake.storage", "formintake.validators")
                    for loc in find_spec(name).submodule_search_locations})
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"):
                h.update(p.relative_to(root.parent).as_posix().encode("utf-8", "surrogatepass") + b"\0")
                h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


_LISTED = tuple(f.name for f in dataclasses.fields(ObjectVersion))


def fingerprint(versions: Iterable[ObjectVersion], campaign: Campaign, waivers: bytes | None, *,
                uploads_prefix: str, bucket: str | None) -> str:
    """sha256 of the run's inputs (module doc)."""
    h = hashlib.sha256()
    for part in (code_digest(), campaign.model_dump_json(), uploads_prefix, bucket or ""):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    h.update(hashlib.sha256(waivers or b"").digest())
    for v in sorted(versions, key=lambda v: (v.key, v.last_modified, v.version_id or "")):
        line = "\0".join(str(getattr(v, name)) for name in _LISTED)  # every field the store listed
        h.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return h.hexdigest()


def unchanged_since(history: dict[str, Any], inputs: str) -> dict[str, Any] | None:
    """The last run's runs.json entry when this run's ``inputs`` equal its own and it left no
    INTERNAL_ERROR; else None (the run does the work)."""
    runs = history.get("runs") or []
    last = runs[-1] if runs else None
    if not last or last.get("inputs") != inputs or last.get("internal_errors", 1) != 0:
        return None
    return last


def unchanged_entry(last: dict[str, Any], *, run_id: str, started_at: str | None, versions: int,
                    inputs: str) -> dict[str, Any]:
    """This run's runs.json line when nothing changed: the outputs of ``same_as`` stand."""
    keep = ("digest", "baseline", "counts", "new_findings", "resolved_findings")
    return {"run_id": run_id, "same_as": last.get("same_as") or last["run_id"], "started_at": started_at,
            "processed": 0, "reused": versions, "inputs": inputs, "internal_errors": 0,
            **{k: last[k] for k in keep if k in last}}
