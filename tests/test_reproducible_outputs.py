"""Reproducible outputs (issue 8): a run with nothing new writes byte-identical records; one corrected
upload changes only that application's record file; new/persisting/resolved marks live in the run's
reports and snapshot, not in the durable record; applications.jsonl has no raw U+2028/U+2029."""

from __future__ import annotations

import json
import os
from pathlib import Path

from formintake.cli import main
from formintake.samples import base_values, build_sample


def _records_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted((out / "records").rglob("*")) if p.is_file()}


def _write(d: Path, s) -> None:
    (d / s.recommender_path).mkdir(parents=True, exist_ok=True)
    (d / s.path).write_bytes(s.data)


def test_no_change_run_is_byte_identical_and_a_correction_rewrites_one_record(tmp_path):
    d, out = tmp_path / "in", tmp_path / "out"
    a_vals = base_values("experience_center", 160, province="江苏省")
    a_vals["area_sqm"] = 280.0  # a warning the correction resolves
    a_vals["project_name"] = a_vals["project_name"] + "\u2028第二行"  # what a pasted text can carry
    a = build_sample(a_vals)
    others = [build_sample(base_values("platform", 161, province="浙江省")),
              build_sample(base_values("platform", 162, province="广东省"), fmt="pdf")]
    for s in [a, *others]:
        _write(d, s)
    assert main(["check", str(d), "--out", str(out)]) == 0
    first = _records_bytes(out)
    mtimes = {k: os.stat(out / k).st_mtime_ns for k in first}
    assert main(["check", str(d), "--out", str(out)]) == 0  # nothing new
    assert _records_bytes(out) == first
    assert {k: os.stat(out / k).st_mtime_ns for k in first} == mtimes  # not even rewritten

    jsonl = first["records/2023/applications.jsonl"].decode("utf-8")
    assert "\u2028" not in jsonl and "\\u2028" in jsonl
    assert len(jsonl.splitlines()) == 3 and all(json.loads(x) for x in jsonl.splitlines())

    # the applicant corrects A in place (same key)
    fixed = build_sample(dict(a_vals, area_sqm=350.0), name=a.name, recommender_path=a.recommender_path)
    (d / a.path).write_bytes(fixed.data)
    assert main(["check", str(d), "--out", str(out)]) == 0
    after = _records_bytes(out)
    changed = {k for k in after if after[k] != first.get(k)}
    per_app = {k for k in changed if not Path(k).name.startswith("applications.")}
    assert len(per_app) == 1
    rec = json.loads(after[per_app.pop()])
    assert rec["source"]["key"] == a.path
    # the durable record carries no per-run marks…
    assert rec["resolved_findings"] == [] and all(f["change"] is None for f in rec["findings"])
    # …the run's report does
    exc = json.loads((out / "reports/2023/latest/exceptions.json").read_text("utf-8"))
    rows = [r for r in exc["findings"] if r["application_id"] == rec["application_id"]]
    assert any(r["code"] == "CENTER_AREA_BELOW_300" and r["change"] == "resolved" for r in rows), rows


def test_xlsx_bytes_do_not_depend_on_the_moment(tmp_path):
    import time

    from formintake.models import Record, SourceInfo
    from formintake.reports.tabular import write_applications_xlsx

    recs = [Record(application_id="a", campaign="2023", status="accepted", source=SourceInfo(key="x.docx"),
                   pipeline_version="t", processed_at="2023-09-01T00:00:00+00:00")]
    one = write_applications_xlsx(recs)
    time.sleep(2.1)  # zip member times have a 2 s resolution
    assert write_applications_xlsx(recs) == one
