"""Hostile keys on a real S3 server (SeaweedFS) through the real flow and a real Prefect API: every
listed object version ends in exactly one record, the good forms are accepted, an object over the size
limit is judged from the listing without being read, and the findings artifact masks the malformed
contact values by field."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.hostile import long_key, upload_s3_batch

pytestmark = pytest.mark.integration


def _jsonl(store, key):
    return [json.loads(x) for x in store.get(key).decode("utf-8").splitlines() if x.strip()]


def test_hostile_keys_through_the_flow(prefect_api, s3_env, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from formintake.flows.ingest import ingest

    uploads, results = s3_env
    camp_dir = tmp_path / "campaigns"  # a 1 MB size limit, so an over-size object stays small here
    shutil.copytree(Path(__file__).parents[1] / "formintake/campaigns", camp_dir)
    toml = (camp_dir / "2023.toml").read_text("utf-8")
    assert "file_size_limit_mb = 50" in toml
    (camp_dir / "2023.toml").write_text(toml.replace("file_size_limit_mb = 50", "file_size_limit_mb = 1"), "utf-8")
    monkeypatch.setenv("FORMINTAKE_CAMPAIGN_FILE", str(camp_dir / "2023.toml"))

    expect = upload_s3_batch(uploads)
    assert len(long_key("2023/x/").encode()) == 1024 and any(len(k.encode()) == 1024 for k in expect)
    big = "2023/江苏省/扫描件合集.pdf"
    uploads.put(big, b"%PDF-1.4\n" + b"0" * (2 * 2**20))
    expect[big] = "FILE_TOO_LARGE"

    summary = ingest(campaign="2023")
    listed = uploads.list_versions("2023/")
    assert summary["processed"] == len(listed)
    recs = _jsonl(results, "records/2023/applications.jsonl")
    by_key = {r["source"]["key"]: r for r in recs}
    # one record per listed version, none silently skipped (whatever the server made of the key)
    assert sorted((r["source"]["key"], r["source"]["version_id"]) for r in recs) == \
        sorted((v.key, v.version_id) for v in listed)
    for key, want in expect.items():
        got = [r for r in recs if r["source"]["key"] == key or r["source"]["key"] == key.replace("\\", "/")]
        assert got, key  # control characters included: listed under their real names (or the listed one)
        rec = got[0]
        codes = [f["code"] for f in rec["findings"]]
        if want == "accepted":
            assert rec["status"] == "accepted", (key, codes)
        elif want is not None:
            assert want in codes, (key, codes)
    assert by_key[big]["source"]["sha256"] is None  # judged from the listing: never read
    for name in ("exceptions.json", "exceptions.csv", "exceptions.xlsx", "exceptions.html"):
        assert results.exists(f"reports/2023/latest/{name}")

    # a name with a control character is the upload's, not our failure: nothing is left to retry
    assert not [r["source"]["key"] for r in recs if any(f["code"] == "INTERNAL_ERROR" for f in r["findings"])]
    ctrl = [r for r in recs if "\x01" in r["source"]["key"]]
    assert len(ctrl) == 2 and all("FILE_NAME_ENCODING" in [f["code"] for f in r["findings"]] for r in ctrl)
    assert any(r["status"] == "accepted" for r in ctrl)
    # a second run: nothing new, nothing retried, the same records
    again = ingest(campaign="2023")
    assert again["processed"] == 0
    assert _jsonl(results, "records/2023/applications.jsonl") == recs

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[summary["flow_run_id"]])))
    table = next(a for a in arts if a.key == "formintake-2023-findings").data
    text = table if isinstance(table, str) else json.dumps(table, ensure_ascii=False)
    for clear in ("1391234567", "liwei#163.com"):
        assert clear not in text
    assert "FIELD_INVALID_FORMAT" in text
    # the reviewers' record keeps the value as written
    mc = next(r for r in recs if r["raw"].get("contact_email") == "liwei#163.com")
    assert mc["raw"]["contact_phone"] == "1391234567"
