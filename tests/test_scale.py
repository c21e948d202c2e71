"""What keeps the pipeline fast at scale, as behaviour (speed itself is measured by bench/scale.py):
the plan reads every earlier version with one GET, and state that did not change is not rewritten."""

from __future__ import annotations

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
