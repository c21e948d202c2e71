"""The pipeline's incremental bookkeeping against a real S3 server (no Prefect needed for this)."""

from __future__ import annotations

from formintake import pipeline
from formintake.config import load_campaign
from formintake.samples import base_values, build_sample
from formintake.versions import read_state

CAMPAIGN = load_campaign("2023")


def test_reupload_of_identical_bytes_reuses_the_extraction(s3_buckets):
    uploads, results = s3_buckets
    s = build_sample(base_values("platform", 61, province="福建省"), fmt="pdf")
    key = f"2023/{s.path}"
    uploads.put(key, s.data)
    first = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="2023/")
    assert first.processed == 1

    uploads.put(key, s.data)  # the same file again: a new version, the same bytes
    second = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="2023/")
    assert second.processed == 1 and second.reused == 1
    versions = uploads.list_versions("2023/")
    assert len(versions) == 2 and versions[0].version_id != versions[1].version_id
    stored = read_state(results, pipeline.ResultKeys("2023")).docs
    new_doc = stored[pipeline.version_id_of(versions[1])]
    old_vid = pipeline.version_id_of(versions[0])
    assert new_doc.same_content_as == old_vid and old_vid in stored
    # still one record per version: the new one is current, the old one superseded
    assert [r.source.version_id for r in second.records] == [versions[1].version_id]
    assert [r.source.version_id for r in second.superseded] == [versions[0].version_id]
    assert second.records[0].application_id == first.records[0].application_id
    assert second.records[0].fields == first.records[0].fields

    # --full re-extracts everything, reusing nothing
    full = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="2023/", full=True)
    assert full.processed == 2 and full.reused == 0
    assert full.records[0].application_id == first.records[0].application_id


def test_changed_bytes_under_the_same_key_are_extracted_again(s3_buckets):
    uploads, results = s3_buckets
    v = base_values("experience_center", 62, province="福建省", area_sqm=250.0)
    s = build_sample(v, fmt="docx")
    key = f"2023/{s.path}"
    uploads.put(key, s.data)
    first = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="2023/")
    assert {f.code for f in first.records[0].findings} == {"CENTER_AREA_BELOW_300"}
    uploads.put(key, build_sample(dict(v, area_sqm=320.0), fmt="docx").data)
    second = pipeline.run_campaign(uploads, results, CAMPAIGN, uploads_prefix="2023/")
    assert second.processed == 1
    rec = second.records[0]
    assert rec.findings == [] and [f.code for f in rec.resolved_findings] == ["CENTER_AREA_BELOW_300"]
    assert rec.resolved_findings[0].change == "resolved"


def test_report_links_can_name_a_public_endpoint(s3_server, s3_buckets):
    """Links for people may need another host than the one the pipeline reaches (compose, proxies)."""
    import urllib.request

    from formintake.storage.s3 import S3Store, make_presign_client

    _, results = s3_buckets
    results.put("reports/2023/latest/exceptions.html", "报告".encode())
    direct = results.url("reports/2023/latest/exceptions.html")
    assert urllib.request.urlopen(direct, timeout=10).read().decode() == "报告"  # a real, working link

    settings = s3_server.settings(public_endpoint="https://reports.example.gov.cn")
    public = S3Store(results.client, results.bucket, presign_client=make_presign_client(settings))
    link = public.url("reports/2023/latest/exceptions.html")
    assert link.startswith("https://reports.example.gov.cn/") and "X-Amz-Signature=" in link
    assert settings.secret_key not in link
