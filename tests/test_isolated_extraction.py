"""Extraction in worker processes: a document that overruns the time limit is stopped (FILE_TIMEOUT)
and the next document is read by a fresh worker."""

from __future__ import annotations

import io
import time
import zipfile

from formintake.extractors.isolated import IsolatedExtractor
from formintake.samples import base_values, build_sample


def huge_docx(paragraphs: int) -> bytes:
    """A valid form with a body so long that reading it takes seconds (about 20 s per 400,000)."""
    s = build_sample(base_values("platform", 1), fmt="docx")
    zin = zipfile.ZipFile(io.BytesIO(s.data))
    out = io.BytesIO()
    para = "<w:p><w:r><w:t>项目内容：补充说明</w:t></w:r></w:p>".encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:body>", para * paragraphs + b"</w:body>")
            z.writestr(item, data)
    return out.getvalue()


def test_overrunning_document_is_stopped_and_the_next_one_is_read():
    good = build_sample(base_values("experience_center", 2), fmt="pdf")
    with IsolatedExtractor(workers=1) as ex:
        first = ex.extract(good.data, good.name, size_limit_bytes=50 * 2**20, timeout_s=30)
        assert first.intake_findings == [] and first.value("uscc") == good.truth["uscc"]

        started = time.monotonic()
        slow = ex.extract(huge_docx(400_000), "大文件.docx", size_limit_bytes=200 * 2**20, timeout_s=0.5)
        elapsed = time.monotonic() - started
        assert [f.code for f in slow.intake_findings] == ["FILE_TIMEOUT"]
        assert slow.intake_findings[0].severity == "error"
        assert elapsed < 10  # stopped at the limit (+ grace), not read to the end (~20 s in-process)

        after = ex.extract(good.data, good.name, size_limit_bytes=50 * 2**20, timeout_s=30)
        assert after.intake_findings == [] and after.fields.keys() == first.fields.keys()


def test_documents_run_side_by_side_and_a_hang_kills_only_its_own_worker():
    """A sleeping job (a parser stuck in C) among quick ones: it times out, every other job completes,
    in completion order, while it is stuck (not after it) — but the one that was sent ahead to the stuck
    worker: that one runs on the fresh worker once the stuck one is stopped."""
    import os

    from formintake.extractors.isolated import Job

    with IsolatedExtractor(workers=2) as ex:
        jobs = [Job("stuck", time.sleep, (60,), timeout_s=1.5)]
        jobs += [Job(f"quick{i}", sum, ([i, 1],), timeout_s=30) for i in range(6)]
        started = time.monotonic()
        out = list(ex.run(jobs, window=3))
        elapsed = time.monotonic() - started
        tags = [t for t, _ in out]
        assert sorted(tags) == sorted(j.tag for j in jobs)
        # the quick ones finished in the other worker meanwhile (one was waiting in the stuck worker)
        assert tags.index("stuck") >= len(tags) - 2, tags
        results = dict(out)
        assert results["stuck"].status == "timeout"
        assert all(results[f"quick{i}"].status == "ok" and results[f"quick{i}"].value == i + 1 for i in range(6))
        assert elapsed < 10
        # the pool goes on with a fresh worker in place of the killed one
        assert [(o.status, o.value) for _, o in ex.run([Job("a", sum, ([2, 2],), 30), Job("b", sum, ([3],), 30)])] \
            in ([("ok", 4), ("ok", 3)], [("ok", 3), ("ok", 4)])
        # a worker that dies on a job (a crash in a C library) costs that job only, after one retry
        out = dict(ex.run([Job("dies", os._exit, (3,), 30), *(Job(i, sum, ([i],), 30) for i in range(4))]))
        assert out["dies"].status == "crashed" and "exit code 3" in out["dies"].detail
        assert [out[i].value for i in range(4)] == [0, 1, 2, 3]


def test_a_split_job_spreads_its_parts_over_the_workers_and_a_slow_part_times_out_alone():
    """A job may answer with a Split (a scan's pages): the parts run on every worker, a part that
    overruns its own limit is stopped alone, and the last step gets every part's outcome in order."""
    from formintake.extractors.isolated import Job, Part, Split

    with IsolatedExtractor(workers=2) as ex:
        parts = [Part(time.sleep, (0.4,), 30) for _ in range(4)]
        parts.insert(2, Part(time.sleep, (60,), 0.5))  # the slow page
        started = time.monotonic()
        # the job's fn builds the Split in the worker; the last step (list) returns the outcomes
        ((tag, out),) = list(ex.run([Job("scan", Split, (parts, list), 30)]))
        elapsed = time.monotonic() - started
        assert tag == "scan" and out.status == "ok"
        outcomes = out.value
        assert [o.status for o in outcomes] == ["ok", "ok", "timeout", "ok", "ok"]
        assert len({o.worker for o in outcomes if o.status == "ok"}) == 2  # both workers read pages
        assert elapsed < 15 and out.seconds >= 0.5
        # the pool goes on: the killed worker is replaced
        assert [o.value for _, o in ex.run([Job("a", sum, ([2, 2],), 30)])] == [4]


def test_pipeline_hanging_upload_among_good_ones(tmp_path, campaign):
    """Through the pipeline: the over-long upload ends as FILE_TIMEOUT, the others are read normally."""
    from formintake import pipeline
    from formintake.storage.local import LocalStore

    camp = campaign.model_copy(update={"thresholds": campaign.thresholds.model_copy(update={"doc_timeout_s": 1.0})})
    src = tmp_path / "uploads" / "江苏省"
    src.mkdir(parents=True)
    good = [build_sample(base_values(d, 10 + i), fmt=f) for i, (d, f) in
            enumerate([("platform", "docx"), ("experience_center", "pdf"), ("platform", "pdf"),
                       ("experience_center", "docx")])]
    for s in good:
        (src / s.name).write_bytes(s.data)
    (src / "超长.docx").write_bytes(huge_docx(400_000))
    r = pipeline.run_campaign(LocalStore(tmp_path / "uploads"), LocalStore(tmp_path / "out"), camp, uploads_prefix="")
    by_name = {rec.source.key.rsplit("/", 1)[-1]: rec for rec in r.records}
    assert [f.code for f in by_name["超长.docx"].findings] == ["FILE_TIMEOUT"]
    for s in good:
        rec = by_name[s.name]
        assert "FILE_TIMEOUT" not in {f.code for f in rec.findings}
        assert rec.fields["uscc"] == s.truth["uscc"]


def _worker_state() -> tuple[bool, bool, bool, bool]:
    import gc
    import sys

    return ("cn2an" in sys.modules, gc.get_freeze_count() > 1000, "minio" in sys.modules,
            "formintake.pipeline" in sys.modules)


def test_a_worker_starts_with_the_extractors_imported_and_their_objects_frozen():
    """The fork server imported cn2an (once for every worker, not at each worker's first Chinese
    numeral) but not the S3 SDK, nor the pipeline's steps and reports (formintake.document is what a
    worker runs); the worker froze what it inherited (the collector skips it)."""
    from formintake.extractors.isolated import Job

    with IsolatedExtractor(workers=1) as ex:
        ((_, out),) = list(ex.run([Job("state", _worker_state, (), 30)]))
    assert out.status == "ok", out.detail
    assert out.value == (True, True, False, False)


def test_a_document_travels_to_the_worker_out_of_band():
    """A document's bytes go to the worker outside the pickle (no copy into and out of it): they arrive
    whole, as bytes, next to small arguments that travel pickled as before."""
    import os
    import zlib

    from formintake.extractors.isolated import Job

    big = os.urandom(3 << 20)
    with IsolatedExtractor(workers=1) as ex:
        out = dict(ex.run([Job("crc", zlib.crc32, (big, 7), 30), Job("type", type, (big,), 30),
                           Job("small", zlib.crc32, (b"abc",), 30)]))
    assert (out["crc"].status, out["crc"].value) == ("ok", zlib.crc32(big, 7))
    assert out["type"].value is bytes
    assert out["small"].value == zlib.crc32(b"abc")


def _stamp(seconds: float) -> float:
    started = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
    time.sleep(seconds)
    return started


def test_a_busy_worker_has_its_next_job_before_the_caller_takes_the_last_result():
    """A worker is sent its next (small) job while it works on one, so it starts it without waiting for
    this process: here a caller that spends 0.6 s on each result; the worker's jobs follow each other."""
    from formintake.extractors.isolated import Job

    with IsolatedExtractor(workers=1) as ex:
        ex.warm_up().join()
        started = {}
        for tag, out in ex.run([Job(i, _stamp, (0.15,), 30) for i in range(4)]):
            assert out.status == "ok", out.detail
            started[tag] = out.value
            time.sleep(0.6)  # the caller busy with the result (storing it, reading the next upload)
    assert sorted(started) == [0, 1, 2, 3]
    # job 1 is dispatched before the caller gets job 0's result; job 2 was sent ahead, not after 0.6 s
    assert started[2] - started[1] < 0.45, started


def test_a_job_sent_ahead_to_a_worker_that_overran_or_died_runs_once_on_a_fresh_one():
    import os

    from formintake.extractors.isolated import Job

    with IsolatedExtractor(workers=1) as ex:
        jobs = [Job("hang", time.sleep, (30,), timeout_s=0.5), Job("after-hang", _stamp, (0,), 30),
                Job("crash", os._exit, (3,), timeout_s=30), Job("after-crash", _stamp, (0,), 30),
                Job("last", _stamp, (0,), 30)]
        seen = [(tag, out.status) for tag, out in ex.run(jobs, window=3)]
    assert sorted(seen) == sorted([("hang", "timeout"), ("after-hang", "ok"), ("crash", "crashed"),
                                   ("after-crash", "ok"), ("last", "ok")]), seen


def test_shared_arguments_are_sent_to_a_worker_once():
    """``run(..., shared=[campaign])``: the first job a worker gets carries the object, later ones only
    its token; the worker reads every job with its one copy."""
    import multiprocessing as mp

    from formintake.extractors.isolated import _recv_job, _send_job, _Shared, _Worker

    big = list(range(20_000))
    here, there = mp.Pipe()
    w = _Worker(proc=None, conn=here)
    shared = _Shared([big])
    got = []
    for i in range(3):
        _send_job(here, sum, (big, i), shared.for_worker(w))
        got.append(_recv_job(there))  # this process plays the worker
    (fn, (first, _)), (_, (second, _)), (_, (third, n)) = got
    assert fn is sum and first == big and first is not big and n == 2
    assert second is first and third is first  # one copy, not one per job
    fresh = _Worker(proc=None, conn=here)  # a replacement worker starts without it
    _send_job(here, sum, (big, 0), shared.for_worker(fresh))
    assert _recv_job(there)[1][0] == big and fresh.shared == w.shared


def test_shared_arguments_through_the_pool_and_a_crash():
    import os

    from formintake.extractors.isolated import Job

    with IsolatedExtractor(workers=2) as ex:
        for k in (1, 2):  # a second run with another object: never the first run's copy
            data = [k] * 1000
            jobs = [Job(i, sum, (data, i), timeout_s=30) for i in range(8)]
            jobs.insert(3, Job("crash", os._exit, (3,), timeout_s=30))  # its worker dies (twice)
            out = dict(ex.run(jobs, window=4, shared=[data]))
            assert out.pop("crash").status == "crashed"
            assert {t: o.value for t, o in out.items()} == {i: 1000 * k + i for i in range(8)}
