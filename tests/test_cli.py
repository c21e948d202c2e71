"""The `formintake` command line contract (outputs.md): extract, check, run, waive; exit statuses."""

from __future__ import annotations

import json

import pytest

from formintake.cli import main
from formintake.samples import base_values, build_sample, demo_batch, write_samples
from formintake.samples.defects import make_defect


def test_extract_prints_one_json_line_per_file(tmp_path, capsys):
    good = build_sample(base_values("platform", 3), fmt="pdf")
    bad = make_defect("FILE_TYPE_MISMATCH", "experience_center", "docx")
    p1, p2 = tmp_path / good.name, tmp_path / bad.name
    p1.write_bytes(good.data)
    p2.write_bytes(bad.data)
    assert main(["extract", str(p1), str(p2)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["source"] for x in lines] == [str(p1), str(p2)]
    first, second = lines
    assert set(first) >= {"source", "direction", "status", "fields", "evidence", "findings"}
    assert first["direction"] == "platform" and first["status"] == "accepted"
    assert first["fields"]["uscc"] == good.truth["uscc"]
    assert first["evidence"]["uscc"]["method"] == "pdf-table" and first["evidence"]["uscc"]["page"] >= 1
    assert [f["code"] for f in second["findings"]] == ["FILE_TYPE_MISMATCH"]
    assert second["status"] == "needs_review"


def test_usage_and_configuration_errors_exit_2(tmp_path, monkeypatch, capsys):
    assert main([]) == 2
    assert main(["extract"]) == 2
    assert main(["check", str(tmp_path / "nope")]) == 2
    assert main(["check", str(tmp_path), "--campaign", "1999"]) == 2
    for k in ("FORMINTAKE_S3_ENDPOINT", "FORMINTAKE_S3_ACCESS_KEY", "FORMINTAKE_S3_SECRET_KEY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("formintake: set FORMINTAKE_S3_ENDPOINT")


def test_check_then_waive_then_check(tmp_path, capsys):
    """A reviewer waives the 280㎡ center's warning; the next run shows it waived and the status follows."""
    samples = demo_batch()
    write_samples(tmp_path / "in", samples)
    out = tmp_path / "out"
    assert main(["check", str(tmp_path / "in"), "--out", str(out)]) == 0
    records = [json.loads(x) for x in (out / "records/2023/applications.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(samples)
    small = next(r for r in records if any(f["code"] == "CENTER_AREA_BELOW_300" for f in r["findings"]))
    assert small["status"] == "needs_review"
    app = small["application_id"]

    # an error that needs no judgment cannot be waived: a one-line reason, exit 2
    quota = next(r for r in records if any(f["code"] == "QUOTA_EXCEEDED" for f in r["findings"]))
    assert main(["waive", quota["application_id"], "QUOTA_EXCEEDED", "--by", "王审核", "--reason", "x",
                 "--out", str(out)]) == 2

    assert main(["waive", app, "CENTER_AREA_BELOW_300", "--by", "王审核", "--reason", "现场核实面积280㎡，布局合理，同意",
                 "--out", str(out)]) == 0
    waivers = json.loads((out / "state/2023/waivers.json").read_text(encoding="utf-8"))
    assert "王审核" in json.dumps(waivers, ensure_ascii=False)

    capsys.readouterr()
    assert main(["check", str(tmp_path / "in"), "--out", str(out)]) == 0
    again = {r["application_id"]: r for r in
             (json.loads(x) for x in (out / "records/2023/applications.jsonl").read_text(encoding="utf-8").splitlines())}
    rec = again[app]
    assert rec["status"] == "accepted"
    f = next(f for f in rec["findings"] if f["code"] == "CENTER_AREA_BELOW_300")
    assert f["waiver"]["by"] == "王审核" and f["waiver"]["reason"].startswith("现场核实")
    html = (out / "reports/2023/latest/exceptions.html").read_text(encoding="utf-8")
    assert "王审核" in html and "已豁免" in html
    # nothing else changed
    assert {k: v["status"] for k, v in again.items() if k != app} == \
        {r["application_id"]: r["status"] for r in records if r["application_id"] != app}


@pytest.mark.parametrize("kind", ["demo", "defects"])
def test_samples_command(tmp_path, kind):
    args = ["samples", str(tmp_path / kind)] + (["--defects"] if kind == "defects" else [])
    assert main(args) == 0
    files = [p for p in (tmp_path / kind).rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(files) >= 18
