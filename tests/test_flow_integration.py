"""The flow end to end against real parts: SeaweedFS on loopback and a real Prefect API.

No mocked S3, no mocked Prefect: forms are uploaded to the S3 server, the flow runs under
prefect_test_harness, and records and reports are read back from S3.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time

import pytest

from formintake import versions
from formintake.keys import ResultKeys
from formintake.samples import Raw, base_values, truth_of
from formintake.versions import read_state
from formintake.samples.sample import build_sample

pytestmark = pytest.mark.integration

CAMPAIGN = "2023"
PHONE = "13812345678（微信同号）"


def upload(store, samples):
    keys = []
    for s in samples:
        key = f"{CAMPAIGN}/{s.recommender_path}/{s.name}"
        store.put(key, s.data)
        keys.append(key)
    return keys


def read_json(store, key):
    return json.loads(store.get(key))


def read_jsonl(store, key):
    return [json.loads(line) for line in store.get(key).decode("utf-8").splitlines() if line.strip()]


def run_flow(full: bool = False) -> dict:
    from formintake.flows.ingest import ingest

    return ingest(campaign=CAMPAIGN, full=full)


def small_batch():
    """Four valid forms in both formats and directions, plus one corrupt upload."""
    from formintake.samples.defects import make_defect

    truth = truth_of(base_values("experience_center", 11, province="江苏省"))
    del truth["contact_phone"]
    out = [
        # a phone number written with a note: FIELD_INVALID_FORMAT, whose value must be masked in artifacts
        build_sample(base_values("experience_center", 11, province="江苏省", contact_phone=Raw(PHONE)), fmt="docx",
                     truth=truth),
        build_sample(base_values("experience_center", 12, province="江苏省"), fmt="pdf"),
        build_sample(base_values("platform", 13, province="广东省"), fmt="docx"),
        build_sample(base_values("platform", 14, province="浙江省"), fmt="pdf"),
    ]
    bad = make_defect("FILE_CORRUPT", "experience_center", "docx", seed=15)
    return out, bad


def test_flow_end_to_end(prefect_api, s3_env):
    uploads, results = s3_env
    good, bad = small_batch()
    upload(uploads, good + [bad])

    summary = run_flow()
    assert summary["processed"] == 5

    run_id = summary["run_id"]
    # every uploaded version ends in exactly one record
    records = read_jsonl(results, f"records/{CAMPAIGN}/applications.jsonl")
    assert len(records) == 5
    by_key = {r["source"]["key"].split("/", 2)[2]: r for r in records}
    for s in good:
        rec = by_key[s.name]
        # field-level accuracy against the generator's ground truth: 100%
        wrong = {k: (rec["fields"].get(k), v) for k, v in s.truth.items() if rec["fields"].get(k) != v}
        assert not wrong, f"{s.name}: {wrong}"
        assert rec["source"]["version_id"] and rec["source"]["etag"] and len(rec["source"]["sha256"]) == 64
        codes = [f["code"] for f in rec["findings"]]
        assert codes == (["FIELD_INVALID_FORMAT"] if s is good[0] else []), codes
        per_app = read_json(results, f"records/{CAMPAIGN}/{rec['application_id']}.json")
        assert per_app["application_id"] == rec["application_id"]
        assert per_app["evidence"]["uscc"]["method"] in ("docx-table", "pdf-table")
    corrupt = by_key[bad.name]
    assert corrupt["status"] == "unreadable"
    assert [f["code"] for f in corrupt["findings"]] == ["FILE_CORRUPT"]

    # reports under the run's own prefix, and latest/ switched to this run
    exc = read_json(results, f"reports/{CAMPAIGN}/{run_id}/exceptions.json")
    assert any(row["code"] == "FILE_CORRUPT" for row in exc["findings"])
    raw_csv = results.get(f"reports/{CAMPAIGN}/{run_id}/exceptions.csv")
    assert raw_csv.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw_csv.decode("utf-8-sig"))))
    assert len(rows) == 1 + len(exc["findings"])
    html = results.get(f"reports/{CAMPAIGN}/{run_id}/exceptions.html").decode("utf-8")
    assert "异常报告" in html
    apps_csv = results.get(f"records/{CAMPAIGN}/applications.csv")
    assert apps_csv.startswith(b"\xef\xbb\xbf")
    manifest = read_json(results, f"reports/{CAMPAIGN}/latest/manifest.json")
    assert manifest["run_id"] == run_id
    assert results.get(f"reports/{CAMPAIGN}/latest/exceptions.html").decode("utf-8") == html
    # the uploads are untouched: same versions as uploaded
    assert len(uploads.list_versions(f"{CAMPAIGN}/")) == 5

    # what ops see in the Prefect UI, read back through the Prefect API
    check_artifacts_and_logs(summary, good[0])


def check_artifacts_and_logs(summary, phone_sample):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

    run_id = summary["flow_run_id"]
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(run_id)
        assert flow_run.name.startswith(f"formintake {CAMPAIGN} ")
        assert f"campaign-{CAMPAIGN}" in flow_run.tags
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
        # run logs reach the API in batches from a background worker: wait until the last one is in
        deadline = time.monotonic() + 30
        while True:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            if any("complete:" in entry.message for entry in logs) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    by_key = {a.key: a for a in arts}
    key = f"formintake-{CAMPAIGN}"
    assert {f"{key}-summary", f"{key}-findings", f"{key}-report"} <= set(by_key)
    md = by_key[f"{key}-summary"].data
    assert "不予受理" in md or "rejected" in md
    assert by_key[f"{key}-findings"].type == "table"
    table = by_key[f"{key}-findings"].data
    table_text = json.dumps(table, ensure_ascii=False) if not isinstance(table, str) else table
    assert "FIELD_INVALID_FORMAT" in table_text and "FILE_CORRUPT" in table_text
    assert "13812345678" not in table_text and "138****5678" in table_text  # masked
    link = by_key[f"{key}-report"].data  # a link artifact is stored as markdown: [text](url)
    assert summary["reports"]["exceptions.html"].split("/")[-1] in link and "X-Amz-Signature" in link
    text = "\n".join(l.message for l in logs)
    assert "processed" in text and "FILE_CORRUPT" in text
    assert "13812345678" not in text
    assert os.environ["FORMINTAKE_S3_SECRET_KEY"] not in text


def _codes(rec):
    return {f["code"] for f in rec["findings"]}


def test_incremental_rerun_and_corrections(prefect_api, s3_env):
    uploads, results = s3_env
    a_vals = base_values("experience_center", 21, province="江苏省", area_sqm=280.0)
    b_vals = base_values("experience_center", 22, province="江苏省", postcode="12345")
    c_vals = base_values("platform", 23, province="广东省")
    d_vals = base_values("platform", 24, province="广东省")
    a, b, c = (build_sample(v, fmt=f) for v, f in ((a_vals, "docx"), (b_vals, "pdf"), (c_vals, "docx")))
    upload(uploads, [a, b, c])

    run1 = run_flow()
    assert run1["processed"] == 3
    recs1 = {r["source"]["key"]: r for r in read_jsonl(results, f"records/{CAMPAIGN}/applications.jsonl")}
    key_a, key_b = f"{CAMPAIGN}/{a.path}", f"{CAMPAIGN}/{b.path}"
    assert "CENTER_AREA_BELOW_300" in _codes(recs1[key_a])
    assert "FIELD_INVALID_FORMAT" in _codes(recs1[key_b])
    html1 = results.get(f"reports/{CAMPAIGN}/latest/exceptions.html")

    # a run with no new uploads extracts nothing, writes nothing but runs.json: run 1's outputs stand
    run_again = run_flow()
    assert run_again["processed"] == 0 and run_again["reused"] == 3 and run_again["same_as"] == run1["run_id"]
    recs_again = {r["source"]["key"]: r for r in read_jsonl(results, f"records/{CAMPAIGN}/applications.jsonl")}
    assert recs_again == recs1
    assert run_again["reports"]["exceptions.json"] == f"reports/{CAMPAIGN}/{run1['run_id']}/exceptions.json"
    assert results.get(f"reports/{CAMPAIGN}/latest/exceptions.html") == html1
    assert not results.list_keys(f"reports/{CAMPAIGN}/{run_again['run_id']}/")

    # corrections: A as a new version of the same key, B under a new key; and a new form D
    a_fixed = build_sample(dict(a_vals, area_sqm=350.0), fmt="docx", name=a.name, recommender_path=a.recommender_path)
    b_fixed = build_sample(dict(b_vals, postcode=b_vals.get("postcode_ok", "210000")), fmt="pdf",
                           name=b.name.replace(".pdf", "-更正.pdf"), recommender_path=b.recommender_path)
    d = build_sample(d_vals, fmt="pdf")
    upload(uploads, [a_fixed, b_fixed, d])

    run2 = run_flow()
    assert run2["processed"] == 3, run2  # exactly the three new versions
    current = {r["source"]["key"]: r for r in read_jsonl(results, f"records/{CAMPAIGN}/applications.jsonl")}
    assert len(current) == 4  # A, B (under its new key), C, D
    ra, rb = current[key_a], current[f"{CAMPAIGN}/{b_fixed.path}"]
    # the application id stays the same; the new record links to what it supersedes
    assert ra["application_id"] == recs1[key_a]["application_id"]
    assert rb["application_id"] == recs1[key_b]["application_id"]
    assert [s["key"] for s in ra["supersedes"]] == [key_a]
    assert [s["key"] for s in rb["supersedes"]] == [key_b]
    assert "CENTER_AREA_BELOW_300" not in _codes(ra)
    rc = current[f"{CAMPAIGN}/{c.path}"]
    rd = current[f"{CAMPAIGN}/{d.path}"]
    # new / persisting / resolved are the run's marks: in its reports, not in the durable records
    assert all(f["change"] is None for r in current.values() for f in r["findings"])
    exc2 = read_json(results, f"reports/{CAMPAIGN}/{run2['run_id']}/exceptions.json")
    marks = {}
    for row in exc2["findings"]:
        marks.setdefault(row["application_id"], []).append((row["code"], row["change"]))
    assert ("CENTER_AREA_BELOW_300", "resolved") in marks[ra["application_id"]]
    assert "FIELD_INVALID_FORMAT" in {c for c, m in marks[rb["application_id"]] if m == "resolved"}
    assert all(m == "persisting" for _, m in marks.get(rc["application_id"], []))
    assert all(m == "new" for _, m in marks.get(rd["application_id"], []))
    assert len(marks.get(rc["application_id"], [])) == len(rc["findings"])
    assert len(marks.get(rd["application_id"], [])) == len(rd["findings"])

    superseded_keys = {s["source"]["key"] for s in exc2["superseded"]}
    assert superseded_keys == {key_a, key_b}
    assert results.get(f"reports/{CAMPAIGN}/latest/exceptions.html") != html1


def test_killed_run_leaves_latest_intact_and_next_run_finishes(prefect_api, tmp_path, monkeypatch):
    """Stop the S3 server halfway through a run: latest/ keeps the previous run; the next run completes."""
    from formintake.flows import ingest as ingest_mod
    from formintake.s3server import LocalS3
    from formintake.storage.s3 import S3Store

    server = LocalS3(tmp_path / "s3").start()
    try:
        for k, v in server.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("FORMINTAKE_UPLOADS_BUCKET", "uploads")
        monkeypatch.setenv("FORMINTAKE_RESULTS_BUCKET", "results")
        client = server.client()
        uploads, results = S3Store(client, "uploads"), S3Store(client, "results")
        uploads.ensure_bucket(versioning=True)
        results.ensure_bucket(versioning=False)
        first = [build_sample(base_values("platform", 31 + i, province="浙江省"), fmt="docx") for i in range(2)]
        upload(uploads, first)
        run1 = run_flow()
        latest_before = {k: results.get(k) for k in results.list_keys(f"reports/{CAMPAIGN}/latest/")}

        BATCH = 4
        more = [build_sample(base_values("experience_center", 41 + i, province="浙江省"), fmt="docx") for i in range(BATCH)]
        upload(uploads, more)

        def die_after_two(done, total, key):
            if done == 2:
                server.stop()

        # version documents are stored two to a segment (and a document handed on once its segment is
        # stored): the run dies after the first segment, with the second being filled or stored
        monkeypatch.setattr(versions, "SEGMENT_DOCS", 2)
        monkeypatch.setattr(versions, "SEGMENT_SECONDS", 120.0)
        monkeypatch.setattr(ingest_mod, "progress_hook", die_after_two)
        with pytest.raises(Exception):
            run_flow()
        monkeypatch.setattr(ingest_mod, "progress_hook", None)

        server.start()  # same data directory: the uploads and the state written so far are still there
        for k, v in server.env().items():
            monkeypatch.setenv(k, v)
        client = server.client()
        uploads, results = S3Store(client, "uploads"), S3Store(client, "results")
        latest_after_crash = {k: results.get(k) for k in results.list_keys(f"reports/{CAMPAIGN}/latest/")}
        assert latest_after_crash == latest_before  # never half-written
        assert read_json(results, f"reports/{CAMPAIGN}/latest/manifest.json")["run_id"] == run1["run_id"]

        # every version document stored before the crash is kept: at least the two the run had handed on
        # (the writer may have stored the second segment behind them); at most one segment is redone
        kept = len(read_state(results, ResultKeys(CAMPAIGN)).docs) - len(first)
        assert kept in (2, BATCH), kept

        run3 = run_flow()
        assert run3["processed"] == BATCH - kept  # what was finished before the crash is not redone
        records = read_jsonl(results, f"records/{CAMPAIGN}/applications.jsonl")
        assert len(records) == len(first) + BATCH  # nothing lost, nothing duplicated
        assert len({r["application_id"] for r in records}) == len(records)
        assert read_json(results, f"reports/{CAMPAIGN}/latest/manifest.json")["run_id"] == run3["run_id"]
    finally:
        server.stop()


def test_two_runs_of_one_campaign_never_overlap(prefect_api, s3_env):
    """Two `formintake run` processes started together: the second waits for the first (a Prefect
    global concurrency limit), and sees the first one's work."""
    import subprocess
    import sys

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    uploads, results = s3_env
    upload(uploads, [build_sample(base_values("platform", 51 + i, province="山东省"), fmt=("docx", "pdf")[i % 2])
                     for i in range(8)])
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())
    procs = [subprocess.Popen([sys.executable, "-m", "formintake.cli", "run"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    summaries = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    assert sorted(s["processed"] for s in summaries) == [0, 8]  # the second saw the first's work
    runs = read_json(results, f"state/{CAMPAIGN}/runs.json")["runs"]
    assert len(runs) == 2
    first, second = sorted(runs, key=lambda r: r["started_at"])
    assert first["completed_at"] <= second["started_at"]
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(f"formintake-{CAMPAIGN}")
    assert limit.limit == 1 and limit.active_slots == 0
