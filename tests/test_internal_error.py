"""Our own failures are INTERNAL_ERROR (rules.md): logged with their traceback, shown as a system fault,
never waivable, and the version is retried on the next run instead of being remembered as done."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from formintake import extractors, pipeline, validators
from formintake.config import load_campaign
from formintake.samples import base_values, build_sample
from formintake.storage.local import LocalStore
from formintake.waivers import WaiverError, add_waiver, waivable

CAMPAIGN = load_campaign("2023")


@pytest.fixture()
def in_process(monkeypatch):
    monkeypatch.setenv("FORMINTAKE_ISOLATE", "0")  # our patched bug must run in this process


def _batch(tmp_path):
    good = build_sample(base_values("platform", 130))
    (tmp_path / "in" / good.recommender_path).mkdir(parents=True)
    (tmp_path / "in" / good.path).write_bytes(good.data)
    return LocalStore(tmp_path / "in", uploads=True), LocalStore(tmp_path / "out"), good


def _boom(*a, **k):
    raise RuntimeError("our own bug")


def test_extractor_bug_is_internal_error_logged_and_retried(tmp_path, monkeypatch, caplog, in_process):
    uploads, results, good = _batch(tmp_path)
    monkeypatch.setitem(extractors.BACKENDS, "docx", _boom)
    with caplog.at_level(logging.ERROR, logger="formintake"):
        first = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    [rec] = first.records
    assert [f.code for f in rec.findings] == ["INTERNAL_ERROR"]
    assert "FILE_CORRUPT" not in rec.model_dump_json() and "已损坏" not in rec.findings[0].message
    assert "不是申报单位的问题" in rec.findings[0].message
    assert "Traceback" in caplog.text and "our own bug" in caplog.text
    assert not waivable("INTERNAL_ERROR", CAMPAIGN)
    with pytest.raises(WaiverError):
        add_waiver([], rec.application_id, "INTERNAL_ERROR", by="张三", reason="r", record=rec, campaign=CAMPAIGN)
    # the same bug again: still not remembered as done
    again = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    assert again.processed == 1
    monkeypatch.undo()
    monkeypatch.setenv("FORMINTAKE_ISOLATE", "0")
    fixed = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    assert fixed.processed == 1 and fixed.reused == 0
    assert fixed.records[0].status == "accepted"
    assert fixed.records[0].application_id == rec.application_id
    assert pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="").processed == 0  # now done


def _run_with_buggy_rule(tmp_path, monkeypatch, caplog, scope: str):
    """One good form through the pipeline with the first ``scope`` rule replaced by a bug of ours."""
    uploads, results, _ = _batch(tmp_path)
    code = next(c for c, r in validators.RULES.items() if r.scope == scope and r.func is not None)
    r = validators.RULES[code]
    monkeypatch.setitem(validators.RULES, code, dataclasses.replace(r, func=_boom))
    with caplog.at_level(logging.ERROR, logger="formintake"):
        res = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    return uploads, results, r, res


def test_rule_bug_is_internal_error_not_the_applicants_fault(tmp_path, monkeypatch, caplog, in_process):
    uploads, results, r, res = _run_with_buggy_rule(tmp_path, monkeypatch, caplog, "application")
    [rec] = res.records
    assert [(f.code, f.severity) for f in rec.findings] == [("INTERNAL_ERROR", "error")]
    assert r.title_for(CAMPAIGN) in rec.findings[0].message
    assert "Traceback" in caplog.text
    assert pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="").processed == 1


def test_a_clean_run_has_no_internal_error(tmp_path, in_process):
    uploads, results, _ = _batch(tmp_path)
    res = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    assert [f.code for f in res.records[0].findings] == []
    assert pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="").processed == 0


def test_batch_rule_bug_does_not_stop_the_run(tmp_path, monkeypatch, caplog, in_process):
    uploads, results, _, res = _run_with_buggy_rule(tmp_path, monkeypatch, caplog, "batch")
    [rec] = res.records
    [f] = rec.findings
    assert (f.code, f.severity) == ("INTERNAL_ERROR", "warning") and rec.status == "needs_review"
    assert "Traceback" in caplog.text and (tmp_path / "out/reports/2023/latest/exceptions.html").exists()
    assert not waivable(f, CAMPAIGN)
    monkeypatch.undo()
    monkeypatch.setenv("FORMINTAKE_ISOLATE", "0")
    again = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="")
    assert again.processed == 0 and again.records[0].status == "accepted"  # batch rules run every time
