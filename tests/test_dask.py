"""The flow's extraction on a real Dask cluster (distributed.LocalCluster, 2 worker processes).

Tasks carry object keys; the workers read S3 themselves with the credentials in their environment.
A batch gives the same records as the single-machine run, and a worker killed in the middle of a batch
loses nothing (Dask runs the batch again on the other worker).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time

import pytest

from formintake.keys import ResultKeys
from formintake.steps.publish import dumps
from formintake.versions import read_state
from formintake.samples import base_values, build_sample
from tests.test_isolated_extraction import huge_docx

pytestmark = pytest.mark.integration

CAMPAIGN = "2023"
VOLATILE = ("processed_at",)  # when a record was made: differs between any two runs


def _records(results) -> dict[str, bytes]:
    """Every version document's record and every application record, as bytes, minus run ids/times."""
    out = {}
    for vid, doc in read_state(results, ResultKeys(CAMPAIGN)).docs.items():
        rec = doc.record.model_dump(mode="json")
        out[vid] = dumps({k: v for k, v in rec.items() if k not in VOLATILE})
    for key in results.list_keys(f"records/{CAMPAIGN}/"):
        if key.endswith(".json"):
            rec = json.loads(results.get(key))
            out[key] = dumps({k: v for k, v in rec.items() if k not in VOLATILE})
    return out


def test_dask_cluster_gives_the_same_records_and_a_killed_worker_loses_nothing(prefect_api, s3_server, s3_env,
                                                                               monkeypatch):
    distributed = pytest.importorskip("distributed")
    from formintake.flows.ingest import ingest
    from formintake.storage.s3 import S3Store

    uploads, results = s3_env
    samples = [build_sample(base_values("platform" if i % 2 else "experience_center", 300 + i, province="浙江省"),
                            fmt="pdf" if i % 3 == 0 else "docx") for i in range(8)]
    for s in samples:
        uploads.put(f"{CAMPAIGN}/浙江省/{s.name}", s.data)
    # last in the batch, and slow to read in-process (seconds): the worker is killed while on it
    uploads.put(f"{CAMPAIGN}/浙江省/超长的申报书.docx", huge_docx(60_000))

    local = ingest(campaign=CAMPAIGN)
    assert local["processed"] == 9
    expected = _records(results)

    dask_results = S3Store(s3_server.client(), f"t-dask-{secrets.token_hex(5)}")
    dask_results.ensure_bucket()
    monkeypatch.setenv("FORMINTAKE_RESULTS_BUCKET", dask_results.bucket)  # before the workers start
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        killed: list[str] = []

        def kill_mid_batch() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy and dask_results.list_keys(f"state/{CAMPAIGN}/versions/"):  # some of the batch done
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.05)

        watcher = threading.Thread(target=kill_mid_batch, daemon=True)
        watcher.start()
        remote = ingest(campaign=CAMPAIGN, dask_address=cluster.scheduler_address)
        watcher.join(5)
        assert killed, "the batch finished before a worker could be killed"
    assert remote["processed"] == 9 and remote["counts"] == local["counts"]
    got = _records(dask_results)
    assert sorted(got) == sorted(expected)
    assert [k for k in expected if got[k] != expected[k]] == []
