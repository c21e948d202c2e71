"""Generated forms through the real extractors and the whole rule book.

For every code the generator can write: the defective form (docx and PDF) raises that code, and the
same application without the defect raises nothing. Then the demo batch through `run_campaign` over
a local folder: exact codes per file, batch rules included.
"""

from __future__ import annotations

import json

import pytest

from formintake import pipeline
from formintake.config import load_campaign
from formintake.samples import base_values, build_sample, demo_batch, write_samples
from formintake.samples.defects import DEFECT_CODES, DEFECT_DIRECTION, DEFECT_FORMATS, make_defect
from formintake.samples.render import RenderStyle
from formintake.storage.local import LocalStore
from formintake.waivers import dump_waivers

CAMPAIGN = load_campaign("2023")
CASES = [(code, fmt) for code in DEFECT_CODES for fmt in DEFECT_FORMATS[code]]


def check(sample, recommender_path=None):
    form, findings = pipeline.extract_and_check(sample.data, sample.name, CAMPAIGN,
                                                recommender_path=recommender_path or sample.recommender_path)
    return form, findings


@pytest.mark.parametrize("code,fmt", CASES, ids=[f"{c}-{f}" for c, f in CASES])
def test_defect_triggers_its_code(code, fmt, monkeypatch):
    sample = make_defect(code, DEFECT_DIRECTION.get(code), fmt)
    if code == "FILE_TOO_LARGE" and sample.fmt == "pdf":
        monkeypatch.setattr(CAMPAIGN.thresholds, "file_size_limit_mb", 0.3)
    _, findings = check(sample)
    codes = {f.code for f in findings}
    assert code in codes
    # nothing else that needs action, beyond what the defect unavoidably brings along
    others = {f.code for f in findings if f.severity in ("error", "warning")} - {code} - set(sample.also)
    assert not others, [(f.code, f.field, f.value, f.message) for f in findings if f.code in others]


@pytest.mark.parametrize("direction", ["platform", "experience_center"])
@pytest.mark.parametrize("fmt", ["docx", "pdf"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_valid_form_raises_nothing(direction, fmt, seed):
    sample = build_sample(base_values(direction, 100 + seed), fmt=fmt)
    form, findings = check(sample)
    assert form.direction == direction
    assert [(f.code, f.field, f.value) for f in findings] == []
    wrong = {k: (form.value(k), v) for k, v in sample.truth.items() if form.value(k) != v}
    assert not wrong


def test_demo_batch_through_the_pipeline(tmp_path):
    samples = demo_batch()
    write_samples(tmp_path / "in", samples)
    result = pipeline.run_campaign(LocalStore(tmp_path / "in"), LocalStore(tmp_path / "out"), CAMPAIGN, uploads_prefix="")
    assert result.processed == len(samples)
    by_key = {r.source.key: r for r in result.records}
    assert len(by_key) == len(samples)  # every file ends in exactly one record
    for s in samples:
        rec = by_key[s.path]
        codes = {f.code for f in rec.findings if f.severity in ("error", "warning")}
        if s.defect:
            assert s.defect in codes, (s.path, codes)
            assert codes - {s.defect} - set(s.also) == set(), (s.path, codes)
        else:
            assert codes == set(), (s.path, [(f.code, f.message) for f in rec.findings])
        if rec.status != "unreadable":
            wrong = {k: (rec.fields.get(k), v) for k, v in s.truth.items() if rec.fields.get(k) != v}
            if s.fmt == "scan":  # OCR: a misread value must be one FILE_OCR_USED names for the reviewer
                used = next(f for f in rec.findings if f.code == "FILE_OCR_USED")
                wrong = {k: w for k, w in wrong.items() if k not in used.value["low_confidence"]}
            assert not wrong, (s.path, wrong)
    # reports and records are in the results folder
    out = tmp_path / "out"
    assert (out / "reports/2023/latest/exceptions.html").is_file()
    assert (out / "records/2023/applications.xlsx").is_file()
    lines = (out / "records/2023/applications.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(samples)

    # a second check of the same folder extracts nothing and writes nothing but its line in runs.json:
    # the first run's records and reports stand
    written = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = pipeline.run_campaign(LocalStore(tmp_path / "in"), LocalStore(out), CAMPAIGN, uploads_prefix="")
    assert again.processed == 0 and again.reused == len(samples) and again.same_as == result.run_id
    assert again.counts == result.counts
    assert again.report_keys["exceptions.json"] == f"reports/2023/{result.run_id}/exceptions.json"
    assert {p for p in out.rglob("*") if p.is_file() and written.get(p) != p.stat().st_mtime_ns} == {
        out / "state/2023/runs.json"}
    # a changed input (here an empty waivers file) makes a real run: nothing extracted, the same findings
    (out / "state/2023/waivers.json").write_bytes(dump_waivers([], "2023"))
    rerun = pipeline.run_campaign(LocalStore(tmp_path / "in"), LocalStore(out), CAMPAIGN, uploads_prefix="")
    assert rerun.processed == 0 and rerun.same_as is None
    first = json.loads((out / f"reports/2023/{result.run_id}/exceptions.json").read_text(encoding="utf-8"))
    second = json.loads((out / f"reports/2023/{rerun.run_id}/exceptions.json").read_text(encoding="utf-8"))
    assert first["findings"] == second["findings"]


@pytest.mark.parametrize("style", [
    RenderStyle(table_columns=4, labels="variant", spaced_labels=True, tick="■", dates="fullwidth", mau="zh"),
    RenderStyle(table_columns=2, tick="delete", dates="dot", mau="wan_comma", numbers="comma"),
    RenderStyle(table_columns=4, tick="sdt", mau="yi", merge_long=True, ascii_brackets=True),
    RenderStyle(tick="[x]", mau="wan_label", mau_year_in_label=True, cover_seal="label"),
])
@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_styles_extract_the_same_truth(style, fmt):
    sample = build_sample(base_values("platform", 7), style=style, fmt=fmt)
    form, findings = check(sample)
    wrong = {k: (form.value(k), v) for k, v in sample.truth.items() if form.value(k) != v}
    assert not wrong
    assert [f.code for f in findings] == []


def test_file_replaced_in_a_local_folder_supersedes_the_earlier_one(tmp_path):
    """A local folder keeps no version history: the earlier version's record stays, as superseded."""
    v = base_values("experience_center", 70, area_sqm=260.0)
    s = build_sample(v, fmt="docx")
    write_samples(tmp_path / "in", [s])
    uploads, results = LocalStore(tmp_path / "in"), LocalStore(tmp_path / "out")
    first = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    (tmp_path / "in" / s.path).write_bytes(build_sample(dict(v, area_sqm=330.0), fmt="docx").data)
    second = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    assert second.processed == 1
    assert [r.application_id for r in second.records] == [first.records[0].application_id]
    assert [r.status for r in second.superseded] == ["superseded"]
    assert second.superseded[0].source.etag == first.records[0].source.etag
    assert [f.code for f in second.records[0].resolved_findings] == ["CENTER_AREA_BELOW_300"]
    again = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    assert again.processed == 0 and again.same_as == second.run_id and again.counts["superseded"] == 1
