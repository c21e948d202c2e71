"""What keeps the pipeline fast at scale, as behaviour (speed itself is measured by bench/scale.py):
the plan reads every earlier version with one GET, and state that did not change is not rewritten."""

from __future__ import annotations

import sys

from formintake import pipeline
from formintake.samples import base_values, build_sample
from formintake.storage.local import LocalStore


class CountingStore(LocalStore):
    """A local folder that counts the reads and writes it serves, by key."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.gets: list[str] = []
        self.puts: list[str] = []

    def get(self, key, version_id=None):
        self.gets.append(key)
        return super().get(key, version_id)

    def put(self, key, data, content_type="application/octet-stream"):
        self.puts.append(key)
        return super().put(key, data, content_type)

    def get_into(self, key, out):
        self.gets.append(key)
        return super().get_into(key, out)


def _uploads(tmp_path, n=4):
    root = tmp_path / "uploads" / "江苏省"
    root.mkdir(parents=True)
    for i in range(n):
        s = build_sample(base_values("platform" if i % 2 else "experience_center", 70 + i, province="江苏省"),
                         fmt="pdf" if i == 3 else "docx")
        (root / s.name).write_bytes(s.data)
    return LocalStore(tmp_path / "uploads")


def test_plan_reads_earlier_versions_with_one_get(tmp_path, campaign):
    uploads, results = _uploads(tmp_path), CountingStore(tmp_path / "out")
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    layout = pipeline.ResultKeys(campaign.id)

    results.gets.clear()
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.known) == 4 and plan.new == []
    assert results.gets == [layout.versions_index]  # not one GET per version

    # without the index (a run that died before finishing, an older tree) the version records are read
    (tmp_path / "out" / layout.versions_index).unlink()
    results.gets.clear()
    again = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert again.known == plan.known
    assert sum(k.startswith(layout.versions_prefix) for k in results.gets) == 4


def test_versions_index_is_read_a_document_at_a_time(tmp_path, campaign):
    """The index is one JSON object written a document a line, so the plan parses it line by line from a
    temporary file (at 10,000 versions its 55 MB are never held beside the documents); an index in one
    line (written before) reads the same."""
    import orjson

    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    path = tmp_path / "out" / pipeline.ResultKeys(campaign.id).versions_index
    data = path.read_bytes()
    assert data.count(b"\n") == 3 and len(orjson.loads(data)) == 4  # four documents, still JSON
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.known) == 4 and plan.new == []
    assert plan.known == pipeline.read_versions_index(data)

    path.write_bytes(orjson.dumps(orjson.loads(data)))  # the older layout: one line
    again = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert again.known == plan.known and again.index_digest != plan.index_digest
    path.write_bytes(data[: len(data) // 2])  # damaged: every version read from its own document
    assert pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False).known == plan.known


def test_the_baseline_snapshot_is_read_an_application_at_a_time(tmp_path, campaign):
    """A re-run compares with the baseline's findings snapshot without parsing it whole (tens of MB at
    10,000): each application's list is read where it lies; a snapshot in another layout reads whole."""
    import json
    import tempfile

    from formintake.steps.compare import _snapshot

    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")
    odd = tmp_path / "uploads" / "某某单位"  # a folder of no recommending unit, and a copy of a form: findings
    odd.mkdir()
    first = sorted((tmp_path / "uploads" / "江苏省").iterdir())[0]
    (odd / first.name).write_bytes(first.read_bytes())
    run = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    key = pipeline.ResultKeys(campaign.id).findings_snapshot(run.run_id)
    whole = json.loads((tmp_path / "out" / key).read_bytes())
    assert len(whole) == 5 and any(whole.values()) and not all(whole.values())  # lists with and without findings
    for layout in ("as written", "one line"):
        if layout == "one line":
            (tmp_path / "out" / key).write_text(json.dumps(whole, ensure_ascii=False))
        with tempfile.TemporaryFile() as fh:
            snap = _snapshot(results, key, fh)
            assert {a: snap.get(a) for a in whole} == whole and snap.get("nope", []) == []
    with tempfile.TemporaryFile() as fh:
        assert _snapshot(results, "state/none.json", fh) == {}


def test_versions_index_written_only_when_it_changes(tmp_path, campaign):
    uploads, results = _uploads(tmp_path), CountingStore(tmp_path / "out")
    layout = pipeline.ResultKeys(campaign.id)
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert results.puts.count(layout.versions_index) == 1
    results.puts.clear()
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")  # nothing changed
    assert layout.versions_index not in results.puts
    # a new upload changes it
    s = build_sample(base_values("platform", 99, province="江苏省"), fmt="docx")
    (tmp_path / "uploads" / "江苏省" / s.name).write_bytes(s.data)
    results.puts.clear()
    r = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert r.processed == 1 and results.puts.count(layout.versions_index) == 1


def _history(tmp_path, campaign) -> list[dict]:
    import json

    return json.loads((tmp_path / "out" / pipeline.ResultKeys(campaign.id).runs).read_text(encoding="utf-8"))["runs"]


def test_a_run_whose_inputs_did_not_change_writes_only_its_line_in_the_history(tmp_path, campaign):
    uploads, results = _uploads(tmp_path), CountingStore(tmp_path / "out")
    layout = pipeline.ResultKeys(campaign.id)
    first = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert first.same_as is None and _history(tmp_path, campaign)[-1]["inputs"]
    for _ in range(2):  # a second unchanged run still stands for the first
        results.gets.clear(), results.puts.clear()
        again = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
        assert (again.same_as, again.processed, again.reused, again.counts) == (first.run_id, 0, 4, first.counts)
        assert results.puts == [layout.runs]  # no record, report, index or snapshot
        assert sorted(results.gets) == sorted([layout.runs, layout.waivers])  # no version document read
        assert again.report_keys["exceptions.html"] == layout.report(first.run_id, "exceptions.html")
        assert _history(tmp_path, campaign)[-1] | {"completed_at": None} == _history(tmp_path, campaign)[-1] | {
            "run_id": again.run_id, "same_as": first.run_id, "processed": 0, "completed_at": None}

    # a new upload: a real run, compared with the first run (the unchanged runs wrote no findings snapshot)
    s = build_sample(base_values("platform", 99, province="江苏省"), fmt="docx")
    (tmp_path / "uploads" / "江苏省" / s.name).write_bytes(s.data)
    third = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert third.processed == 1 and third.same_as is None and third.baseline_run_id == first.run_id
    assert all(f.change == "persisting" for r in third.records if r.source.key != f"江苏省/{s.name}" for f in r.findings)


def test_changed_waivers_campaign_or_full_make_a_real_run(tmp_path, campaign):
    from formintake.waivers import dump_waivers

    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert pipeline.run_campaign(uploads, results, campaign, uploads_prefix="").same_as is not None
    results.put(pipeline.ResultKeys(campaign.id).waivers, dump_waivers([], campaign.id))
    assert pipeline.run_campaign(uploads, results, campaign, uploads_prefix="").same_as is None
    other = campaign.model_copy(update={"thresholds": campaign.thresholds.model_copy(update={"doc_timeout_s": 61.0})})
    assert pipeline.run_campaign(uploads, results, other, uploads_prefix="").same_as is None
    assert pipeline.run_campaign(uploads, results, other, uploads_prefix="").same_as is not None
    full = pipeline.run_campaign(uploads, results, other, uploads_prefix="", full=True)
    assert full.same_as is None and full.processed == 4


def test_versions_in_memory_are_compact(tmp_path, campaign):
    """What the flow holds per version (a version document as the plan reads it from the versions index)
    stays small: a record's per-field evidence, raw text and states are packed (models.Packed), not ~150
    pydantic objects, and no model keeps a fields set of its own (models.Held). Measured 62 KB a version
    as plain models, 12 KB packed, 6.7 KB held."""
    import gc
    import tracemalloc

    import orjson

    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")  # three docx forms and a PDF
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    index = orjson.loads((tmp_path / "out" / pipeline.ResultKeys(campaign.id).versions_index).read_bytes())
    assert len(index) == 4
    # 400 versions: the four documents under other version ids (each parsed into objects of its own)
    many = orjson.dumps({f"{vid}-{i}": {**doc, "vid": f"{vid}-{i}"} for i in range(100) for vid, doc in index.items()})
    # the versions index keeps the detail packed: far smaller than the documents as stored one by one
    one_by_one = sum(len(p.read_bytes()) for p in (tmp_path / "out" / "state" / campaign.id / "versions").iterdir())
    assert len(orjson.dumps(index)) < 0.75 * one_by_one

    gc.collect()
    tracemalloc.start()
    try:
        docs = pipeline.read_versions_index(many)
        gc.collect()
        resident = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(docs) == 400
    assert resident / 400 < 10_000, f"{resident / 400:.0f} bytes resident per version"
    # still read like the records they are
    doc = next(iter(docs.values()))
    assert doc.record.evidence.get("project_name") is not None and doc.record.field_states["project_name"] == "ok"
    assert doc == pipeline.VersionDoc.model_validate_json(
        (tmp_path / "out" / pipeline.ResultKeys(campaign.id).version_record(doc.vid.split("-")[0])).read_bytes()
    ).model_copy(update={"vid": doc.vid})


def test_records_as_the_workers_send_them_are_held_compact(tmp_path, campaign):
    """On a first run every record comes back from an extraction worker pickled, each text in it a new
    string. Held as the flow holds them (models.Held): one shared fields set per model class, field keys
    and option values interned, equal texts within a record stored once, the per-field detail packed
    with zlib dictionaries. Measured 8.1 KB a record here (main before: 15.2 KB)."""
    import gc
    import pickle
    import tracemalloc
    import zlib

    from formintake import models

    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    docs = pipeline.read_versions_index((tmp_path / "out" / pipeline.ResultKeys(campaign.id).versions_index).read_bytes())
    sent = [pickle.dumps(d.record) for _ in range(100) for d in docs.values()]  # 400 answers of workers
    gc.collect()
    tracemalloc.start()
    try:
        held = [pickle.loads(p) for p in sent]
        gc.collect()
        resident = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert resident / 400 < 10_000, f"{resident / 400:.0f} bytes resident per record"

    a, b = held[0], held[1]  # two different forms
    assert a.model_fields_set is b.model_fields_set == set(models.Record.model_fields)
    assert a.source.model_fields_set is b.source.model_fields_set
    assert all(k is next(j for j in b.fields if j == k) for k in a.fields if k in b.fields)
    assert a.fields["entity_nature"] is b.fields["entity_nature"] or a.fields["entity_nature"] != b.fields["entity_nature"]
    assert a.status is sys.intern(a.status) and a.source.recommender_path is sys.intern("江苏省")
    assert a.evidence.blob[1] & 0x20 and len(a.field_states.blob) < 100  # packed with a preset dictionary
    # still models that behave as pydantic's: equal to the record read back, copied, assigned, dumped
    assert a == docs[next(iter(docs))].record
    c = a.model_copy()
    c.status = "rejected"
    assert a.status != "rejected" and c.status == "rejected" and c.model_dump()["status"] == "rejected"
    assert pickle.loads(pickle.dumps(c)) == c
    # detail packed before the dictionaries (an older versions index) still reads
    old = models.Packed(zlib.compress(a.evidence.json(), 1), "evidence")
    assert old == a.evidence and old.get("project_name") == a.evidence.get("project_name")


def test_packing_dictionaries_are_frozen():
    """A stored versions index holds blobs packed with these dictionaries (named by their checksum):
    changing one makes those blobs unreadable. Add a new dictionary instead and keep this one."""
    import zlib

    from formintake import models

    assert {k: zlib.adler32(v) for k, v in models._ZDICTS.items()} == {
        "evidence": 1932345754, "raw": 4206377469, "field_states": 654798655}


def test_the_extraction_pool_starts_while_planning_only_when_something_is_new(tmp_path, campaign):
    from formintake.extractors.isolated import shared_extractor

    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    pool = shared_extractor()
    pool.close()
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)  # nothing new
    assert plan.new == []
    list(pool.run([]))  # waits for a warm-up, had there been one
    assert pool.worker_pids() == []

    s = build_sample(base_values("platform", 99, province="江苏省"), fmt="docx")
    (tmp_path / "uploads" / "江苏省" / s.name).write_bytes(s.data)
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.new) == 1
    list(pool.run([]))
    assert len(pool.worker_pids()) == pool.workers  # started by the plan, before anything was sent
