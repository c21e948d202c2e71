"""Severity belongs to the finding: waivable(), the waiver command and the report's rule summary read the
finding's severity, not its code's registered one; `formintake waive` uses the campaign file in force."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from formintake.cli import main
from formintake.config import load_campaign
from formintake.models import Finding, Record, SourceInfo
from formintake.reports.common import ReportInput, summarize
from formintake.samples import base_values, build_sample
from formintake.samples.defects import make_defect
from formintake.waivers import waivable

CAMPAIGN = load_campaign("2023")


def _records(out: Path) -> dict[str, dict]:
    lines = (out / "records/2023/applications.jsonl").read_text("utf-8").splitlines()
    return {r["source"]["key"]: r for r in map(json.loads, lines)}


def test_waiving_a_downgraded_warning_end_to_end(tmp_path):
    v = base_values("platform", 150)
    v["summary"] = "本项目面向全国用户提供信息消费服务。"  # under the 50 字 the template asks: a warning
    s = build_sample(v)
    (tmp_path / "in" / s.recommender_path).mkdir(parents=True)
    (tmp_path / "in" / s.path).write_bytes(s.data)
    out = tmp_path / "out"
    assert main(["check", str(tmp_path / "in"), "--out", str(out)]) == 0
    rec = _records(out)[s.path]
    f = next(f for f in rec["findings"] if f["code"] == "FIELD_INVALID_FORMAT")
    assert (f["field"], f["severity"]) == ("summary", "warning") and rec["status"] == "needs_review"
    assert not waivable("FIELD_INVALID_FORMAT", CAMPAIGN)  # the code as registered: an error
    assert waivable(Finding.model_validate(f), CAMPAIGN)  # this finding: a warning
    assert main(["waive", rec["application_id"], "FIELD_INVALID_FORMAT", "--field", "summary", "--by", "李审核",
                 "--reason", "简介虽短但内容完整", "--out", str(out)]) == 0
    assert main(["check", str(tmp_path / "in"), "--out", str(out)]) == 0
    rec = _records(out)[s.path]
    f = next(f for f in rec["findings"] if f["code"] == "FIELD_INVALID_FORMAT")
    assert f["waiver"]["by"] == "李审核" and rec["status"] == "accepted"


def test_an_error_of_the_same_code_stays_unwaivable(tmp_path):
    rec = Record(application_id="a", campaign="2023", status="rejected", source=SourceInfo(key="x.docx"),
                 pipeline_version="t", processed_at="t",
                 findings=[Finding(code="FIELD_INVALID_FORMAT", severity="error", field="contact_phone", message="m")])
    assert not waivable(rec.findings[0], CAMPAIGN)


def _rec(i: int, sev: str) -> Record:
    return Record(application_id=f"a{i}", campaign="2023", status="needs_review", source=SourceInfo(key=f"{i}.pdf"),
                  pipeline_version="t", processed_at="t",
                  findings=[Finding(code="FILE_NO_TEXT", severity=sev, message="m")])


def test_rule_summary_counts_each_finding_under_its_own_severity():
    s = summarize(ReportInput(campaign=CAMPAIGN, run_id="r", generated_at="2023-09-01T00:00:00+00:00",
                              records=[_rec(1, "warning"), _rec(2, "warning"), _rec(3, "error")], superseded=[]))
    rows = sorted((r.code, r.severity, r.findings) for r in s.by_rule)
    assert rows == [("FILE_NO_TEXT", "error", 1), ("FILE_NO_TEXT", "warning", 2)]
    only_warnings = summarize(ReportInput(campaign=CAMPAIGN, run_id="r", generated_at="2023-09-01T00:00:00+00:00",
                                          records=[_rec(1, "warning")], superseded=[]))
    assert [(r.code, r.severity) for r in only_warnings.by_rule] == [("FILE_NO_TEXT", "warning")]


def test_waive_uses_the_campaign_file_in_force(tmp_path, monkeypatch):
    bad = make_defect("USCC_INVALID", "platform", "docx")
    (tmp_path / "in" / bad.recommender_path).mkdir(parents=True)
    (tmp_path / "in" / bad.path).write_bytes(bad.data)
    out = tmp_path / "out"
    assert main(["check", str(tmp_path / "in"), "--out", str(out)]) == 0
    app = _records(out)[bad.path]["application_id"]
    args = ["waive", app, "USCC_INVALID", "--by", "王审核", "--reason", "已向登记机关核实", "--out", str(out)]
    assert main(args) == 2  # the packaged campaign does not let a reviewer waive it
    camp_dir = tmp_path / "campaigns"
    shutil.copytree(Path(__file__).parents[1] / "formintake/campaigns", camp_dir)  # with its reference lists
    packaged = (camp_dir / "2023.toml").read_text("utf-8")
    assert "waivable_errors = [" in packaged
    custom = packaged.replace("waivable_errors = [", 'waivable_errors = [\n  "USCC_INVALID",', 1)
    (camp_dir / "2023.toml").write_text(custom, "utf-8")
    monkeypatch.setenv("FORMINTAKE_CAMPAIGN_FILE", str(camp_dir / "2023.toml"))
    assert main(args) == 0
    assert main(["check", str(tmp_path / "in"), "--out", str(out)]) == 0
    f = next(f for f in _records(out)[bad.path]["findings"] if f["code"] == "USCC_INVALID")
    assert f["waiver"]["by"] == "王审核"
