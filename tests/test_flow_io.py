"""The flow process's storage I/O beside the extraction workers: uploads read ahead in a bounded window,
version documents stored behind (a failed PUT still stops the run), and ``put_many``."""

from __future__ import annotations

import threading
import time

import pytest

from formintake import pipeline, versions
from formintake.extractors.isolated import default_workers
from formintake.storage.local import LocalStore


class WatchedStore(LocalStore):
    """A local folder that notes the reads it serves; ``fail_put(key)`` says which writes fail (a full disk)."""

    def __init__(self, root, fail_put=None) -> None:
        super().__init__(root)
        self.gets: list[str] = []
        self.fail_put = fail_put
        self._lock = threading.Lock()

    def get(self, key, version_id=None, *, max_bytes=None):
        with self._lock:
            self.gets.append(key)
        return super().get(key, version_id, max_bytes=max_bytes)

    def put(self, key, data, content_type="application/octet-stream"):
        if self.fail_put and self.fail_put(key):
            raise OSError(28, "No space left on device")
        return super().put(key, data, content_type)


def _uploads(tmp_path, n: int) -> WatchedStore:
    root = tmp_path / "uploads" / "江苏省"
    root.mkdir(parents=True)
    for i in range(n):  # not a real docx: read, found corrupt, one record each (fast)
        (root / f"{i:03d}-申报书.docx").write_bytes(b"PK\x03\x04 not really a zip %d" % i)
    return WatchedStore(tmp_path / "uploads")


def _process(uploads, results, campaign):
    versions = uploads.list_versions("")
    return versions, pipeline.process_versions(uploads, results, versions, campaign, uploads_prefix="", run_id="r1",
                                               full=False, known={})


def _stored_vids(results, campaign) -> set[str]:
    return set(versions.read_state(results, pipeline.ResultKeys(campaign.id), what="vids").docs)


def test_uploads_are_read_ahead_in_a_bounded_window(tmp_path, campaign, monkeypatch):
    n = 40
    monkeypatch.setattr(versions, "SEGMENT_DOCS", 3)
    uploads, results = _uploads(tmp_path, n), LocalStore(tmp_path / "out")
    versions_, docs = _process(uploads, results, campaign)
    # uploads read but not yet handed on as a stored version document: the read-ahead, the pool's window
    # (twice the workers), the documents waiting for their segment to be stored (at most two segments'
    # worth: versions.SegmentWriter), and the one in hand
    bound = pipeline.READ_AHEAD + 2 * default_workers() + 2 * versions.SEGMENT_DOCS + 1
    seen, most_ahead = [], 0
    for doc in docs:
        time.sleep(0.02)  # a slow consumer: unbounded reading would have read every upload by now
        seen.append(doc.source.key)
        most_ahead = max(most_ahead, len(uploads.gets) - len(seen))
    assert most_ahead <= bound, (most_ahead, bound)
    assert sorted(seen) == sorted(v.key for v in versions_) == sorted(uploads.gets)  # each once, none lost
    assert _stored_vids(results, campaign) == {d.vid for d in docs_of(results, campaign)} and len(seen) == n
    # many documents an object: no object per version
    assert len(results.list_keys(pipeline.ResultKeys(campaign.id).versions_prefix)) <= n // 3 + 1


def docs_of(results, campaign):
    return versions.read_state(results, pipeline.ResultKeys(campaign.id)).docs.values()


def test_a_version_document_that_cannot_be_stored_stops_the_run(tmp_path, campaign, monkeypatch):
    monkeypatch.setattr(versions, "SEGMENT_DOCS", 4)
    uploads = _uploads(tmp_path, 12)
    keys = pipeline.ResultKeys(campaign.id)
    segments = []

    def second_segment(key):  # the disk fills up when the second segment is written
        if key.startswith(keys.versions_prefix + "seg-"):
            segments.append(key)
            return len(segments) == 2
        return False

    results = WatchedStore(tmp_path / "out", fail_put=second_segment)
    _, docs = _process(uploads, results, campaign)
    handed_on = []
    with pytest.raises(OSError, match="No space left"):
        for doc in docs:
            handed_on.append(doc)
    # never silently lost: the run failed; what it handed on is stored (the next run resumes from it), and
    # nothing past the failed segment was written
    assert len(handed_on) == 4 and {d.vid for d in handed_on} == _stored_vids(results, campaign)
    assert len(segments) == 2


def test_segments_are_stored_by_count_or_time_and_the_unstored_are_bounded(tmp_path, campaign):
    """The documents a run that dies would lose are those not yet in a stored segment: a segment is
    written after ``docs`` documents or ``seconds`` after its first, and a slow store blocks the run once
    two segments' worth wait (so at most that is ever redone)."""
    uploads = _uploads(tmp_path, 1)
    (doc,) = pipeline.process_versions(uploads, LocalStore(tmp_path / "x"), uploads.list_versions(""), campaign,
                                       uploads_prefix="", run_id="r1", full=False, known={})
    keys = pipeline.ResultKeys(campaign.id)
    gate = threading.Event()

    class SlowStore(LocalStore):
        def put(self, key, data, content_type="application/octet-stream"):
            gate.wait(10)
            return super().put(key, data, content_type)

    results = SlowStore(tmp_path / "out")
    w = versions.SegmentWriter(results, keys, "r2", docs=3, seconds=0.2)
    added = []

    def feed():
        for i in range(20):
            w.add(doc.model_copy(update={"vid": f"v{i:02d}"}))
            added.append(i)

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    time.sleep(0.5)
    assert len(added) == 6  # two segments' worth wait unstored: the seventh waits for the store
    gate.set()
    t.join(10)
    assert len(added) == 20
    time.sleep(0.5)  # the last two documents: written by time, without close()
    got = w.stored()
    assert sorted(d.vid for d in got) == [f"v{i:02d}" for i in range(20)]
    w.close()
    assert w.stored() == [] and len(w.written) == 7  # six of three, one of two
    assert _stored_vids(results, campaign) == {d.vid for d in got}


def test_version_documents_that_cannot_be_stored_on_s3_stop_the_run(s3_buckets, campaign, tmp_path):
    from formintake.storage.s3 import S3Store

    uploads, results = s3_buckets
    for i in range(6):
        uploads.put(f"2023/江苏省/{i}-申报书.docx", b"PK\x03\x04 not really a zip %d" % i)
    gone = S3Store(results.client, results.bucket + "-missing")  # a real server's refusal: NoSuchBucket
    versions = uploads.list_versions("2023/")
    docs = pipeline.process_versions(uploads, gone, versions, campaign, uploads_prefix="2023/", run_id="r1",
                                     full=False, known={})
    handed_on = []
    with pytest.raises(Exception, match="NoSuchBucket|bucket does not exist"):
        for doc in docs:
            handed_on.append(doc)
    assert handed_on == []


@pytest.fixture(params=["s3", "local"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    _, results = request.getfixturevalue("s3_buckets")  # real SeaweedFS
    return results


def test_put_many_writes_every_object_while_the_items_are_made(store):
    from formintake.storage.s3 import PUT_THREADS

    ahead = 2 * PUT_THREADS
    taken = []

    def items():
        for i in range(3 * ahead):
            if i > ahead:  # taken lazily: the writes of the items made long before this one have ended
                assert store.exists(f"records/2023/{i - ahead - 1:03d}.json")
            taken.append(i)
            yield f"records/2023/{i:03d}.json", b'{"n": %d}' % i, "application/json"

    store.put_many(items())
    assert len(taken) == 3 * ahead
    assert store.list_keys("records/2023/") == [f"records/2023/{i:03d}.json" for i in taken]
    assert all(store.get(f"records/2023/{i:03d}.json") == b'{"n": %d}' % i for i in taken)


def test_put_many_raises_the_first_failed_write_and_takes_no_more(store):
    taken = []

    def items():
        for i in range(100):
            taken.append(i)
            yield ("" if i == 10 else f"r/{i:03d}.json"), b"x", "application/json"  # "": no object can have it

    with pytest.raises((ValueError, KeyError, OSError)):
        store.put_many(items())
    assert len(taken) < 100


def test_the_pool_starts_as_soon_as_the_listing_shows_new_versions(tmp_path, campaign):
    from formintake.extractors.isolated import shared_extractor
    from formintake.samples import base_values, build_sample

    root = tmp_path / "uploads" / "江苏省"
    root.mkdir(parents=True)
    s = build_sample(base_values("platform", 71, province="江苏省"), fmt="docx")
    (root / s.name).write_bytes(s.data)
    uploads, results = LocalStore(tmp_path / "uploads"), LocalStore(tmp_path / "out")
    pool = shared_extractor()

    def started(full=False) -> bool:
        pool.close()
        inputs = pipeline.check_inputs(uploads, results, campaign, uploads_prefix="", full=full)
        said = pipeline.warm_pool_early(inputs, full)
        list(pool.run([]))  # waits for a warm-up, had there been one
        assert said == bool(pool.worker_pids())
        return said

    assert started()  # the first run: every version is new
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert not started()  # same listing as the last run
    assert started(full=True)
    # only the waivers changed: a real run, but the same versions as the last one (no workers needed)
    results.put(pipeline.ResultKeys(campaign.id).waivers, b"[]", "application/json")
    assert pipeline.check_inputs(uploads, results, campaign, uploads_prefix="", full=False).same_as is None
    assert not started()
    t = build_sample(base_values("platform", 72, province="江苏省"), fmt="docx")
    (root / t.name).write_bytes(t.data)
    assert started()  # a new upload
    pool.close()
