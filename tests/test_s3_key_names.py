"""S3 keys with ``.``/``..`` segments and other names a server may list (issue 8).

SeaweedFS (and MinIO) refuse to store such keys, so they never reach the pipeline from those servers;
AWS S3 holds them. What can be tested here: that SeaweedFS refuses every form, and that such keys,
listed the way AWS lists them (a ListObjectVersions response parsed by the minio SDK), go through our
own storage and key code to one record each with a finding about the name, without escaping the results
folder or colliding with another upload.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest
from minio.datatypes import Object
from minio.error import InvalidResponseError, S3Error

from formintake import pipeline
from formintake.storage.base import NAME_DOT_SEGMENT, UnreachableName, has_dot_segment
from formintake.storage.local import LocalStore
from formintake.samples import base_values, build_sample

DOT_FORMS = ["2023/a/../b.docx", "2023/..", "..", "2023/../x.docx", "./x.docx", ".", "2023/./b.docx", "2023/a/.",
             "2023/a/..", "2023/a/./", "2023/a/../"]
BACKSLASH_DOT_FORMS = ["2023/..\\..\\evil.docx", "2023/a\\..\\b.docx", "2023/.\\b.docx", "2023/a/..\\"]


def test_dot_segments():
    for k in DOT_FORMS:
        assert has_dot_segment(k), k
    for k in ("2023/a/...docx", "2023/.../b.docx", "2023/a/..b/c.docx", "2023/a/%2e%2e/d.docx", "2023/.hidden",
              "2023/a..\\b.docx", "2023/..\\x.docx"):  # a backslash is part of a name, not a separator
        assert not has_dot_segment(k), k


def test_recommender_folder_of_unusual_keys():
    assert pipeline.recommender_of_key("2023/江苏省/x.docx", "2023/") == "江苏省"
    assert pipeline.recommender_of_key("2023//江苏省/x.docx", "2023/") == "江苏省"
    assert pipeline.recommender_of_key("2023/./江苏省/x.docx", "2023/") == "江苏省"
    assert pipeline.recommender_of_key("2023/x.docx", "2023/") is None
    assert pipeline.recommender_of_key("2023/江苏省/申报材料\\x.pdf", "2023/") == "江苏省"


@pytest.mark.integration
def test_seaweedfs_refuses_every_dot_segment_form(s3_buckets):
    """The minio SDK refuses ``.``/``..`` segments itself; sent past it (the SDK's private ``_execute``,
    pinned here), SeaweedFS refuses them too: it cleans the path before checking the signature
    (SignatureDoesNotMatch), answers 405 for ``..`` alone and InvalidRequest for the backslash forms
    (it turns ``\\`` into ``/``). If a SeaweedFS upgrade starts storing one, this test says so."""
    uploads, _ = s3_buckets
    for k in DOT_FORMS:
        with pytest.raises(ValueError, match="path segment"):
            uploads.put(k, b"x")
    for k in DOT_FORMS + BACKSLASH_DOT_FORMS:
        with pytest.raises((S3Error, InvalidResponseError)):
            uploads.client._execute("PUT", uploads.bucket, object_name=k, body=b"x", headers={"Content-Length": "1"})
    assert uploads.list_versions() == []


def _aws_listing(bucket: str, keys: list[str]) -> list[Object]:
    """A ListObjectVersions response as AWS S3 returns it for these keys (URL-encoded), parsed by the SDK."""
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    body = "".join(
        f"<Version><Key>{quote(k, safe='/')}</Key><VersionId>aws-{i}</VersionId><IsLatest>true</IsLatest>"
        f"<LastModified>{when}</LastModified><ETag>&quot;{i:032x}&quot;</ETag><Size>12345</Size></Version>"
        for i, k in enumerate(keys))
    xml = (f'<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>{bucket}</Name>'
           f"<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>{body}</ListVersionsResult>")
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    return [Object.fromxml(e, bucket, encoding_type="url") for e in ET.fromstring(xml).findall("s3:Version", ns)]


@pytest.mark.integration
def test_dot_segment_keys_as_aws_lists_them(s3_buckets, campaign, tmp_path, monkeypatch):
    monkeypatch.setenv("FORMINTAKE_ISOLATE", "0")  # in-process: a handful of small files
    uploads, _ = s3_buckets
    good = build_sample(base_values("platform", 71, province="江苏省"))
    key = f"2023/{good.path}"
    uploads.put(key, good.data)
    unit, name = good.recommender_path, good.name
    aws_keys = [f"2023/{unit}/../{name}", f"2023/{unit}/./{name}", f"2023/{unit}/{name}/..", "2023/..",
                f"2023/../../../etc/{name}", f"2023/{unit}/./../{name}"]
    real = list(uploads.client.list_objects(uploads.bucket, prefix="2023/", recursive=True, include_version=True))
    versions = uploads.versions_of(real + _aws_listing(uploads.bucket, aws_keys))
    assert sorted(v.key for v in versions) == sorted([key, *aws_keys])  # listed as they are, none merged
    assert {v.key: v.name_lost for v in versions} == {key: None, **{k: NAME_DOT_SEGMENT for k in aws_keys}}
    with pytest.raises(UnreachableName):  # never handed to the SDK (which would raise ValueError)
        uploads.get(aws_keys[0], "aws-0")

    out = tmp_path / "out"
    results = LocalStore(out)
    plan = pipeline.Plan(campaign.id, "2023/", versions, versions, {})
    docs = {d.vid: d for d in pipeline.process_versions(uploads, results, versions, campaign, uploads_prefix="2023/",
                                                         run_id="r1", full=False, known={})}
    result = pipeline.finish(uploads, results, campaign, plan, docs, run_id="r1", processed=len(versions),
                             started=time.perf_counter())

    records = result.records + result.superseded
    assert sorted(r.source.key for r in records) == sorted(v.key for v in versions)  # one record each
    by_key = {r.source.key: r for r in records}
    assert by_key[key].status == "accepted"
    for k in aws_keys:
        codes = [f.code for f in by_key[k].findings]
        assert codes[0] == "FILE_NAME_UNREADABLE" and by_key[k].status == "unreadable", (k, codes)
        assert set(codes) <= {"FILE_NAME_UNREADABLE", "RECOMMENDER_UNKNOWN"}, codes  # (a ".." folder: no unit)
        assert by_key[k].source.sha256 is None  # never read
    assert not any(pipeline.has_internal_error(d) for d in docs.values())  # remembered as done, not retried
    assert len({r.application_id for r in records}) == len(records)  # no two uploads share a record file
    # everything written stays inside the results folder, under the campaign's three trees
    written = [Path(dp, f) for dp, _, fs in os.walk(tmp_path) for f in fs]
    assert written and all(p.is_relative_to(out) for p in written)
    assert {p.relative_to(out).parts[:2] for p in written} <= {("records", "2023"), ("reports", "2023"),
                                                                ("state", "2023")}
    for r in records:
        assert (out / "records" / "2023" / f"{r.application_id}.json").is_file() or r.status == "superseded"
