"""What keeps the pipeline fast at scale, as behaviour (speed itself is measured by bench/scale.py):
the plan reads the stored version documents with one listing and a GET per object holding many (never one
per version), a run writes O(changed) state, and state that did not change is not rewritten."""

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


def _counting(store: CountingStore):
    store.lists = []
    orig = store.list_keys

    def list_keys(prefix=""):
        store.lists.append(prefix)
        return orig(prefix)

    store.list_keys = list_keys
    return store


def _state_files(tmp_path, campaign) -> list[str]:
    folder = tmp_path / "out" / pipeline.ResultKeys(campaign.id).versions_prefix
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_plan_reads_the_state_with_one_listing_and_a_get_per_object(tmp_path, campaign):
    """Version documents are stored many to an object: the plan lists versions/ once and GETs the index and
    the segments beside it, never one object per version; a run that changed one version writes one small
    segment (O(changed)), not the index."""
    uploads, results = _uploads(tmp_path), _counting(CountingStore(tmp_path / "out"))
    layout = pipeline.ResultKeys(campaign.id)
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    names = _state_files(tmp_path, campaign)
    assert "index.jsonl" in names and len(names) == 2, names  # four documents in one segment, and the index
    assert not any(n.endswith(".json") for n in names)  # no document of its own per version

    results.gets.clear(), results.lists.clear()
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.known) == 4 and plan.new == []
    assert results.lists == [layout.versions_prefix] and results.gets == [layout.versions_base]

    # one new upload: one segment written, the index left as it is (it is read beside it next time)
    s = build_sample(base_values("platform", 99, province="江苏省"), fmt="docx")
    (tmp_path / "uploads" / "江苏省" / s.name).write_bytes(s.data)
    index_before = (tmp_path / "out" / layout.versions_base).read_bytes()
    results.puts.clear()
    r = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert r.processed == 1 and r.reused == 4
    state_puts = [k for k in results.puts if k.startswith(layout.versions_prefix)]
    assert len(state_puts) == 1 and state_puts[0].startswith(layout.versions_prefix + "seg-")
    assert (tmp_path / "out" / layout.versions_base).read_bytes() == index_before
    results.gets.clear(), results.lists.clear()
    again = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(again.known) == 5 and again.new == []
    assert results.lists == [layout.versions_prefix] and sorted(results.gets) == sorted([layout.versions_base,
                                                                                          state_puts[0]])


def test_the_index_is_rewritten_once_the_segments_beside_it_grow(tmp_path, campaign, monkeypatch):
    from formintake import versions

    uploads, results = _uploads(tmp_path), CountingStore(tmp_path / "out")
    layout = pipeline.ResultKeys(campaign.id)
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")  # an index of four documents
    monkeypatch.setattr(versions, "COMPACT_FRACTION", 0.5)  # rewritten beyond two documents beside it
    written = []
    for n in range(3):
        s = build_sample(base_values("platform", 90 + n, province="江苏省"), fmt="docx")
        (tmp_path / "uploads" / "江苏省" / s.name).write_bytes(s.data)
        results.puts.clear()
        assert pipeline.run_campaign(uploads, results, campaign, uploads_prefix="").processed == 1
        written.append(layout.versions_base in results.puts)
    assert written == [False, False, True]  # 1, 2, then 3 documents beside an index of 4
    results.gets.clear()
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.known) == 7 and results.gets == [layout.versions_base]  # it holds every segment now
    assert pipeline.run_campaign(uploads, results, campaign, uploads_prefix="").same_as  # nothing changed


def _older_layout(tmp_path, campaign, docs, *, index: str = "lines", died: int = 1) -> None:
    """The state as formintake wrote it before segments: a document per version (full JSON) and
    versions-index.json (one JSON object; a document a line, or in one line), the last ``died`` documents
    only in their own files (a run that died before finishing)."""
    import json
    import shutil

    layout = pipeline.ResultKeys(campaign.id)
    out = tmp_path / "out"
    shutil.rmtree(out / layout.versions_prefix)
    (out / layout.versions_prefix).mkdir(parents=True)
    docs = sorted(docs, key=lambda d: d.vid)
    for d in docs:
        (out / layout.version_record(d.vid)).write_text(json.dumps(d.model_dump(mode="json"), ensure_ascii=False))
    in_index = docs[: len(docs) - died]
    parts = [b'"%s":%s' % (d.vid.encode(), d.model_dump_json(context={"packed": True}).encode()) for d in in_index]
    data = b"{" + b",\n".join(parts) + b"}"
    (out / layout.versions_index).write_bytes(data if index == "lines" else json.dumps(json.loads(data)).encode())


def test_older_layouts_still_read_and_the_next_finished_run_writes_the_index(tmp_path, campaign):
    from formintake import versions

    uploads, results = _uploads(tmp_path), CountingStore(tmp_path / "out")
    layout = pipeline.ResultKeys(campaign.id)
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    docs = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False).known
    for index in ("lines", "one line", "damaged"):
        _older_layout(tmp_path, campaign, docs.values(), index=index)
        if index == "damaged":  # every version read from its own document
            path = tmp_path / "out" / layout.versions_index
            path.write_bytes(path.read_bytes()[:100])
        results.gets.clear()
        plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
        assert plan.known == docs and plan.new == [] and plan.state.older, index
        gets = 1 if index != "damaged" else 4  # the index, then each version it lacks
        assert len(results.gets) == gets + 1 and results.gets[0] == layout.versions_index, (index, results.gets)
        assert versions.stored_vids(results, layout) == set(docs)  # what `formintake watch` takes as processed

    # the upgrade: a run that finishes writes index.jsonl holding every document; the older files are then
    # ignored (not deleted)
    s = build_sample(base_values("platform", 99, province="江苏省"), fmt="docx")
    (tmp_path / "uploads" / "江苏省" / s.name).write_bytes(s.data)
    r = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    assert r.processed == 1 and r.reused == 4
    assert (tmp_path / "out" / layout.versions_base).exists() and (tmp_path / "out" / layout.versions_index).exists()
    results.gets.clear()
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.known) == 5 and not plan.state.older and results.gets == [layout.versions_base]
    assert {vid: plan.known[vid] for vid in docs} == docs
    assert versions.stored_vids(results, layout) == set(plan.known)


def test_a_damaged_index_or_segment_is_redone_not_trusted(tmp_path, campaign):
    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")
    layout = pipeline.ResultKeys(campaign.id)
    pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    path = tmp_path / "out" / layout.versions_base
    path.write_bytes(path.read_bytes()[:50])  # not even its header: the segments it covered are read instead
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.known) == 4 and plan.state.older
    (seg,) = [p for p in path.parent.iterdir() if p.name.startswith("seg-")]
    lines = seg.read_bytes().splitlines(keepends=True)
    seg.write_bytes(b"".join(lines[:2] + [lines[2][:40] + b"\n"] + lines[3:]))  # one document cut short
    path.unlink()
    plan = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False)
    assert len(plan.known) == 3 and len(plan.new) == 1  # that version is extracted again


def test_a_full_rerun_keeps_when_each_version_was_first_taken_in(tmp_path, campaign):
    uploads, results = _uploads(tmp_path), LocalStore(tmp_path / "out")
    first = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="")
    full = pipeline.run_campaign(uploads, results, campaign, uploads_prefix="", full=True)
    assert full.processed == 4
    docs = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False).known
    assert {d.first_seen_run for d in docs.values()} == {first.run_id}
    assert {d.processed_run for d in docs.values()} == {full.run_id}

    # the flow's batches (each with stores of its own) read the first-seen runs from the state once per run
    layout = pipeline.ResultKeys(campaign.id)
    versions = uploads.list_versions("")
    reads = []
    for half in (versions[:2], versions[2:]):
        store = CountingStore(tmp_path / "out")
        done = list(pipeline.process_versions(uploads, store, half, campaign, uploads_prefix="", run_id="r-full",
                                              full=True, known={}))
        assert {d.first_seen_run for d in done} == {first.run_id}
        reads.append(sum(k.startswith(layout.versions_prefix) for k in store.gets))
    assert reads[0] >= 1 and reads[1] == 0


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
    lines = (tmp_path / "out" / pipeline.ResultKeys(campaign.id).versions_base).read_bytes().splitlines()[1:]
    index = {d["vid"]: d for d in map(orjson.loads, lines)}  # the documents as the index holds them
    assert len(index) == 4
    # 400 versions: the four documents under other version ids (each parsed into objects of its own)
    many = orjson.dumps({f"{vid}-{i}": {**doc, "vid": f"{vid}-{i}"} for i in range(100) for vid, doc in index.items()})
    # the versions index keeps the detail packed: far smaller than the documents as full JSON
    full_json = sum(len(pipeline.VersionDoc.model_validate(d).model_dump_json()) for d in index.values())
    assert len(orjson.dumps(index)) < 0.75 * full_json

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
    stored = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False).known
    assert doc == stored[doc.vid.split("-")[0]].model_copy(update={"vid": doc.vid})


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
    docs = pipeline.plan_run(uploads, results, campaign, uploads_prefix="", full=False).known
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
