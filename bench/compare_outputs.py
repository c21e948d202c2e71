"""Record-for-record comparison of two `formintake check` output folders (before/after a refactoring).

    python -m bench.compare_outputs OUT_BEFORE OUT_AFTER

Compares every record, version document (by version id, whichever layout stored it), findings snapshot,
runs.json entry and report (json, csv, html, xlsx cell by cell) after normalising what legitimately differs between two runs: run ids,
timestamps, durations and the pipeline version. Prints the differences; exit status 1 if any.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

RUN_ID = re.compile(r"\d{8}T\d{6}\d*Z")
ISO_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?")
VOLATILE_KEYS = {"processed_at", "generated_at", "started_at", "completed_at", "extract_ms", "seconds",
                 "processed_run", "first_seen_run", "pipeline_version", "run_id", "baseline", "previous_run_id",
                 "files",  # manifest hashes change with the timestamps inside the files
                 "inputs"}  # runs.json's fingerprint of a run's inputs includes the code's digest


SHA256 = re.compile(r"\b[0-9a-f]{64}\b")


def _norm_text(s: str) -> str:
    s = RUN_ID.sub("<run>", s)
    s = ISO_TS.sub("<ts>", s)
    s = re.sub(r"用时（秒）\s*[\d.]+", "用时（秒） <s>", s)
    s = re.sub(r"用时 [\d.]+ 秒", "用时 <s> 秒", s)
    return s


def _norm(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: ("<v>" if k in VOLATILE_KEYS else _norm(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_norm(x) for x in obj]
    if isinstance(obj, str):
        return _norm_text(obj)
    return obj


def _load(path: Path) -> Any:
    suffix = path.suffix
    data = path.read_bytes()
    if path.name.endswith("-index.json"):  # hashes of files whose timestamps differ between runs
        return _norm(json.loads(SHA256.sub("<sha256>", data.decode("utf-8"))))
    if suffix == ".json":
        return _norm(json.loads(data))
    if suffix == ".jsonl":
        return [_norm(json.loads(line)) for line in data.decode("utf-8").splitlines() if line.strip()]
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return {ws.title: [[_norm(c) for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    return _norm_text(data.decode("utf-8", "replace"))


def _files(root: Path) -> dict[str, Path]:
    """Files by relative path, each run's id replaced by its ordinal (``run1``, ``run2``, …)."""
    run_ids = sorted({m.group(0) for p in root.rglob("*") for m in RUN_ID.finditer(str(p.relative_to(root)))})
    ordinal = {r: f"run{i}" for i, r in enumerate(run_ids, 1)}
    out = {}
    for p in root.rglob("*"):
        if p.is_file():
            rel = RUN_ID.sub(lambda m: ordinal[m.group(0)], str(p.relative_to(root)))
            out[rel] = p
    return out


STATE_FILES = re.compile(r"^state/[^/]+/(versions/|versions-index\.json$)")


def _version_docs(root: Path) -> dict[str, dict[str, Any]]:
    """Every campaign's version documents by vid, whichever layout stored them (formintake.versions:
    segments named by run and time, the index, or one file a version): compared as documents, not files."""
    from formintake.keys import ResultKeys  # deferred: only this comparison needs the package
    from formintake.storage.local import LocalStore
    from formintake.versions import read_state

    out = {}
    for folder in sorted((root / "state").glob("*/")):
        docs = read_state(LocalStore(root), ResultKeys(folder.name)).docs
        if docs:
            out[f"state/{folder.name}/versions (documents by vid)"] = {
                vid: _norm(d.model_dump(mode="json")) for vid, d in sorted(docs.items())}
    return out


def compare(a: Path, b: Path) -> list[str]:
    fa, fb = _files(a), _files(b)
    fa, fb = ({k: p for k, p in f.items() if not STATE_FILES.match(k)} for f in (fa, fb))
    da, db = _version_docs(a), _version_docs(b)
    problems = [f"only in {a}: {k}" for k in sorted(set(da) - set(db))]
    problems += [f"only in {b}: {k}" for k in sorted(set(db) - set(da))]
    for k in sorted(set(da) & set(db)):
        if da[k] != db[k]:
            vids = sorted(set(da[k]) ^ set(db[k])) or [v for v in da[k] if da[k][v] != db[k][v]]
            problems.append(f"differs: {k}: {len(vids)} versions, e.g. {vids[:3]}")
    problems += [f"only in {a}: {k}" for k in sorted(set(fa) - set(fb))]
    problems += [f"only in {b}: {k}" for k in sorted(set(fb) - set(fa))]
    for k in sorted(set(fa) & set(fb)):
        x, y = _load(fa[k]), _load(fb[k])
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, str):
            diff = list(difflib.unified_diff(x.splitlines(), y.splitlines(), lineterm="", n=0))[:20]
        else:
            diff = list(difflib.unified_diff(json.dumps(x, ensure_ascii=False, indent=1, default=str).splitlines(),
                                             json.dumps(y, ensure_ascii=False, indent=1, default=str).splitlines(),
                                             lineterm="", n=0))[:20]
        problems.append(f"differs: {k}\n  " + "\n  ".join(diff))
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    a, b = Path(argv[0]), Path(argv[1])
    problems = compare(a, b)
    n = len(_files(a))
    for p in problems:
        print(p)
    print(f"{n} files compared: {'no difference' if not problems else f'{len(problems)} differences'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
