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
