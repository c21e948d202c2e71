"""`formintake watch` and the ingest deployment's trigger, against real parts: SeaweedFS on loopback, a
real Prefect server with its event and automation services (prefect_test_harness runs the reactive and
proactive trigger services and the actions service in its server process), `prefect deploy` on
prefect.yaml, a real process worker. Nobody calls `deployment run`: an upload starts the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from formintake.reports.masking import mask_pii
from formintake.samples import base_values, build_sample
from formintake.watch import key_id

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = "2023"
EVENT = "formintake.upload.created"


def _env(**extra) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               FORMINTAKE_LOG_LEVEL="INFO", FORMINTAKE_LOG_FILE=os.devnull)
    env.update(extra)
    return env


# a file name as people write them: the contact's mobile and ID number in it
PHONE, ID_NUMBER = "13812345678", "110101199003071234"


def _upload(uploads, n: int, first: int, *, personal: bool = False) -> list[str]:
    keys = []
    for i in range(n):
        s = build_sample(base_values("platform", first + i, province="浙江省"), fmt="docx")
        name = f"联系人张三{PHONE}-身份证{ID_NUMBER}-{s.name}" if personal else s.name
        key = f"{CAMPAIGN}/{s.recommender_path}/{name}"
        uploads.put(key, s.data)
        keys.append(key)
    return keys


def assert_no_personal_data(events: list[dict]) -> None:
    """What Prefect's event feed shows: the phone and ID number only masked."""
    shown = json.dumps(events, ensure_ascii=False)
    assert PHONE not in shown and ID_NUMBER not in shown, shown
    assert "138****5678" in shown and "1101**********1234" in shown


def read_events(bucket: str) -> list[dict]:
    """formintake.upload.created events of one bucket, as the Prefect API stores them."""
    from prefect.client.orchestration import get_client

    body = {"filter": {"event": {"name": [EVENT]}, "resource": {"labels": {"formintake.bucket": [bucket]}},
                       "order": "ASC"}, "limit": 50}
    with get_client(sync_client=True) as client:
        resp = client.request("POST", "/events/filter", json=body)
    return resp.json()["events"]


def wait_for(pred, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def test_watch_once_announces_each_new_version_once(prefect_api, s3_env):
    uploads, results = s3_env
    keys = _upload(uploads, 1, 61) + _upload(uploads, 1, 62, personal=True)
    cmd = [sys.executable, "-m", "formintake.cli", "watch", "--campaign", CAMPAIGN, "--once"]
    first = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads(first.stdout.strip().splitlines()[-1])["announced"] == 2
    assert PHONE not in first.stderr and "138****5678" in first.stderr  # the log line, masked
    # a restart announces nothing again: what was announced is in the results bucket
    state = json.loads(results.get(f"state/{CAMPAIGN}/watch.json"))
    assert len(state["announced"]) == 2 and len(state["key_salt"]) == 64
    again = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout.strip().splitlines()[-1])["announced"] == 0
    # a new version of one key is new
    uploads.put(keys[0], uploads.get(keys[0]) + b"\0")
    third = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    assert json.loads(third.stdout.strip().splitlines()[-1])["announced"] == 1

    events = wait_for(lambda: (lambda ev: ev if len(ev) >= 3 else None)(read_events(uploads.bucket)), 30)
    assert events and len(events) == 3, events
    # the key as Prefect shows it (masked), its keyed-hash id, the version id and ETag as S3 has them
    salt = json.loads(results.get(f"state/{CAMPAIGN}/watch.json"))["key_salt"]
    versions = {(mask_pii(v.key), key_id(salt, v.key), v.version_id, v.etag)
                for v in uploads.list_versions(f"{CAMPAIGN}/")}
    seen = set()
    for e in events:
        res = e["resource"]
        assert res["prefect.resource.id"] == f"s3://{uploads.bucket}/{res['formintake.key']}"
        assert res["prefect.resource.name"] == res["formintake.key"].rsplit("/", 1)[-1]
        assert res["formintake.campaign"] == CAMPAIGN
        seen.add((res["formintake.key"], res["formintake.key-id"], res["formintake.version-id"], res["formintake.etag"]))
        (rel,) = e["related"]
        assert rel["prefect.resource.id"] == f"formintake.campaign.{CAMPAIGN}"
        assert rel["prefect.resource.role"] == "campaign"
    assert seen == versions  # one event per object version
    assert_no_personal_data(events)
    # the masked key of the personal file is not the key: Prefect never saw it
    assert keys[1] not in {e["resource"]["formintake.key"] for e in events}


def test_masked_keys_keep_distinct_ids_that_need_the_salt():
    from formintake.storage.base import ObjectVersion
    from formintake.watch import event_id, upload_event

    salt, other = "ab" * 32, "cd" * 32
    a, b = f"{CAMPAIGN}/浙江省/联系人13812345678.docx", f"{CAMPAIGN}/浙江省/联系人13899995678.docx"
    assert mask_pii(a) == mask_pii(b)  # the same in the event feed ...
    assert key_id(salt, a) != key_id(salt, b)  # ... but two objects, told apart by their id
    assert key_id(salt, a) == key_id(salt, a) != key_id(other, a)  # stable under one salt, salt-dependent
    v = ObjectVersion(key=a, version_id="v1", etag="e1", size=1, last_modified="2023-08-01T00:00:00Z")
    assert event_id(salt, "uploads", v) == event_id(salt, "uploads", v) != event_id(other, "uploads", v)
    res = upload_event("uploads", v, CAMPAIGN, "listing", salt).resource
    assert res.id == "s3://uploads/2023/浙江省/联系人138****5678.docx" and res.name == "联系人138****5678.docx"
    plain = f"{CAMPAIGN}/浙江省/某某科技有限公司-体验中心.docx"  # nothing personal: the key as it is
    assert upload_event("uploads", ObjectVersion(key=plain, version_id="v1", etag="e1", size=1, last_modified=""),
                        CAMPAIGN, "listing", salt).resource.id == f"s3://uploads/{plain}"


def test_a_state_from_before_the_salt_gets_one_and_keeps_what_was_announced(s3_env):
    from formintake.watch import Watcher

    uploads, results = s3_env
    key = f"state/{CAMPAIGN}/watch.json"
    results.put(key, json.dumps({"campaign": CAMPAIGN, "announced": {"v1": "then"}}).encode(), "application/json")
    w = Watcher(uploads, results, CAMPAIGN, emit=lambda events: None)
    w.load_state()
    doc = json.loads(results.get(key))
    assert doc["announced"] == {"v1": "then"} and len(doc["key_salt"]) == 64 and doc["key_salt"] == w.salt
    again = Watcher(uploads, results, CAMPAIGN, emit=lambda events: None)
    again.load_state()
    assert again.salt == w.salt  # kept: the same key has the same id after a restart


def test_watch_needs_a_prefect_api(s3_env, tmp_path):
    env = {k: v for k, v in _env().items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)  # an empty profile: no API configured anywhere
    p = subprocess.run([sys.executable, "-m", "formintake.cli", "watch", "--once"], env=env, capture_output=True,
                       text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 2 and "PREFECT_API_URL" in p.stderr, p.stderr


def _test_prefect_yaml(tmp_path: Path, bucket: str, name: str, pool: str, within: int) -> Path:
    """prefect.yaml as shipped, for this test: its own deployment/pool name, no cron, the trigger's
    debounce shortened (the server allows 10 s at least) and matched to this test's bucket."""
    doc = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    (dep,) = [d for d in doc["deployments"] if d["name"] == "formintake-ingest-2023"]
    dep["name"] = name
    dep["work_pool"]["name"] = pool
    dep.pop("schedules")
    (trigger,) = dep["triggers"]
    assert trigger["posture"] == "Proactive" and trigger["after"] == trigger["expect"] == [EVENT]
    trigger["within"] = within
    trigger["match"] = dict(trigger["match"], **{"formintake.bucket": bucket})
    doc["deployments"] = [dep]
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_an_upload_starts_one_run_by_itself(prefect_api, s3_env, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.workers.process import ProcessWorker

    uploads, results = s3_env
    tag = uuid.uuid4().hex[:6]
    pool, name = f"formintake-test-{tag}", f"ingest-trigger-{tag}"
    prefect_file = _test_prefect_yaml(tmp_path, uploads.bucket, name, pool, within=10)
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process",
                                               base_job_template=ProcessWorker.get_default_base_job_template()))
    env = _env(FORMINTAKE_HOME=str(ROOT), PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="1",
               FORMINTAKE_ISOLATE="0")
    dep = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file",
                          str(prefect_file)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert dep.returncode == 0, dep.stdout[-3000:] + dep.stderr[-3000:]
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(f"formintake-ingest/{name}")
        automations = client.read_resource_related_automations(f"prefect.deployment.{deployment.id}")
    assert len(automations) == 1 and automations[0].trigger.posture == "Proactive"
    # what the UI's custom-run form shows: every parameter described; no unexpanded variable
    props = deployment.parameter_openapi_schema["properties"]
    assert {"campaign", "full"} <= set(props) and all(p.get("description") for p in props.values()), props
    assert "申报轮次" in props["campaign"]["description"] and "重新提取" in props["full"]["description"]
    assert "$" not in deployment.description and "FORMINTAKE_UPLOADS_BUCKET" in deployment.description

    procs: dict[str, subprocess.Popen] = {}
    logs = {k: tmp_path / f"{k}.log" for k in ("worker", "watch")}
    try:
        procs["worker"] = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
                                            "--type", "process"], cwd=tmp_path, env=env,
                                           stdout=logs["worker"].open("wb"), stderr=subprocess.STDOUT)
        procs["watch"] = subprocess.Popen([sys.executable, "-m", "formintake.cli", "watch", "--campaign", CAMPAIGN,
                                           "--interval", "1"], cwd=tmp_path, env=env,
                                          stdout=logs["watch"].open("wb"), stderr=subprocess.STDOUT)
        # a burst: three uploads a moment apart, one with a phone and ID number in its file name
        for i in range(3):
            _upload(uploads, 1, 71 + i, personal=(i == 1))
            time.sleep(0.5)

        def runs():
            with get_client(sync_client=True) as client:
                return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))

        def finished():
            rs = runs()
            return rs if rs and all(r.state and r.state.is_final() for r in rs) else None

        done = wait_for(finished, 150, step=1)
        assert done, (f"no completed flow run; runs: {[(r.name, r.state_name) for r in runs()]}\n"
                      + "\n".join(f"--- {k}\n{p.read_text(errors='replace')[-3000:]}" for k, p in logs.items()))
        assert len(done) == 1, [(r.name, r.state_name) for r in done]  # the burst started one run
        # and nothing more comes without a new upload (a window and a proactive evaluation later)
        time.sleep(10 + 7)
        assert len(runs()) == 1, [(r.name, r.state_name) for r in runs()]
        (run,) = done
        assert run.state.is_completed(), run.state
        assert run.parameters == {"campaign": CAMPAIGN, "full": False}
        records = [json.loads(line) for line in results.get(f"records/{CAMPAIGN}/applications.jsonl").splitlines()]
        assert len(records) == 3
        assert any(PHONE in r["source"]["key"] for r in records)  # the run found the personal file name's version
        assert_no_personal_data(read_events(uploads.bucket))

        # one SIGTERM stops the watcher cleanly
        procs["watch"].send_signal(signal.SIGTERM)
        assert procs["watch"].wait(20) == 0
        text = logs["watch"].read_text(encoding="utf-8", errors="replace")
        assert "bucket notifications not available" in text and "NotImplemented" in text  # SeaweedFS: listing
        assert text.count(f"announced {EVENT}") == 3
        assert "Traceback" not in text
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        with get_client(sync_client=True) as client:
            client.delete_deployment(deployment.id)


def test_a_first_start_takes_what_the_pipeline_stored_as_processed(s3_buckets, campaign):
    """On its first start the watcher announces only versions the pipeline has no document of; the
    documents are stored many to an object (formintake.versions), so it reads the state, not names."""
    from formintake import pipeline
    from formintake.watch import Watcher

    uploads, results = s3_buckets
    _upload(uploads, 3, 71)
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix=f"{CAMPAIGN}/")
    assert not any(k.endswith(".json") for k in results.list_keys(f"state/{CAMPAIGN}/versions/"))
    _upload(uploads, 1, 75)  # not processed yet
    sent = []
    w = Watcher(uploads, results, CAMPAIGN, emit=sent.extend)
    assert "3 versions already processed" in w.load_state()
    assert w.catch_up() == 1 and len(sent) == 1
    assert sent[0].resource["formintake.key"].endswith(build_sample(base_values("platform", 75, province="浙江省"),
                                                                     fmt="docx").name)
