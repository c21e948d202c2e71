"""The headline of issue 8: `formintake check` exits 0 on any mix of hostile uploads, every good form is
still accepted and every bad one accounted for; and the invariant, on every fixture batch: object
versions listed = records written (each listed version ends in exactly one record)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from formintake import pipeline
from formintake.cli import main
from formintake.config import load_campaign
from formintake.samples import defect_samples, demo_batch, write_samples
from formintake.keys import ResultKeys
from formintake.storage.local import LocalStore
from formintake.versions import read_state
from tests.hostile import write_local_batch

CAMPAIGN = load_campaign("2023")


def assert_one_record_per_version(uploads, result, prefix: str = "") -> None:
    listed = Counter((v.key, v.version_id) for v in uploads.list_versions(prefix))
    recorded = Counter((r.source.key, r.source.version_id) for r in result.records + result.superseded)
    assert all(n == 1 for n in recorded.values()), [k for k, n in recorded.items() if n > 1]
    assert set(listed) <= set(recorded), set(listed) - set(recorded)  # none silently skipped
    assert sum(listed.values()) == len(listed)


def _check_outcomes(records: dict[str, dict], expect: dict[str, str]) -> None:
    assert set(expect) <= set(records), set(expect) - set(records)
    for key, want in expect.items():
        rec = records[key]
        codes = [f["code"] for f in rec["findings"]]
        if want == "accepted":
            assert rec["status"] == "accepted", (key, [(f["code"], f["field"], f["message"]) for f in rec["findings"]])
        elif want is not None:
            assert want in codes, (key, codes)
            assert rec["status"] != "accepted"
        assert "INTERNAL_ERROR" not in codes, (key, rec["findings"])


def test_check_exits_0_on_the_mixed_batch(tmp_path):
    d, out = tmp_path / "in", tmp_path / "in" / "formintake-out"  # output inside DIR, as `check .` makes it
    expect = write_local_batch(d)
    for _ in range(2):
        assert main(["check", str(d), "--out", str(out)]) == 0
    lines = (out / "records/2023/applications.jsonl").read_text("utf-8").splitlines()
    records = {r["source"]["key"]: r for r in map(json.loads, lines)}
    _check_outcomes(records, expect)
    assert set(records) == set(expect)  # nothing else taken in (not the output, not hidden files)
    latest = out / "reports/2023/latest"
    assert {p.name for p in latest.iterdir()} >= {"exceptions.json", "exceptions.csv", "exceptions.xlsx",
                                                  "exceptions.html", "manifest.json"}
    versions = read_state(LocalStore(out), ResultKeys("2023")).docs
    assert len(versions) == len(expect)
    assert "root:x:0:0" not in "".join(p.read_text("utf-8", "replace") for p in out.rglob("*.json"))


@pytest.mark.parametrize("batch", ["demo", "defects", "hostile"])
def test_every_listed_version_ends_in_one_record_local(tmp_path, batch):
    d = tmp_path / "in"
    if batch == "hostile":
        write_local_batch(d)
    else:
        write_samples(d, demo_batch() if batch == "demo" else defect_samples())
    uploads = LocalStore(d, uploads=True)
    result = pipeline.run_campaign(uploads, LocalStore(tmp_path / "out"), CAMPAIGN, uploads_prefix="")
    assert_one_record_per_version(uploads, result)
    assert result.processed == len(uploads.list_versions())


@pytest.mark.integration
@pytest.mark.parametrize("batch", ["demo", "defects"])
def test_every_listed_version_ends_in_one_record_s3(s3_buckets, batch):
    uploads, results = s3_buckets
    samples = demo_batch() if batch == "demo" else defect_samples()
    for s in samples:
        uploads.put(f"2023/{s.path}", s.data)
    uploads.put(f"2023/{samples[0].path}", samples[0].data + b"\x00")  # a second version of one key
    result = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="2023/", bucket=uploads.bucket)
    assert_one_record_per_version(uploads, result, "2023/")
    assert result.processed == len(uploads.list_versions("2023/")) == len(samples) + 1
