"""Linking versions into applications (formintake.steps.link) and "the same project" (formintake.identity)."""

from __future__ import annotations

from formintake.config import load_campaign
from formintake.identity import identity_of, same_project, same_project_clusters
from formintake.models import Record, SourceInfo
from formintake.steps.link import link_versions
from formintake.versions import VersionDoc

CAMPAIGN = load_campaign("2023")
NAME = "无锡智慧信息消费体验中心建设项目"


def doc(key: str, run: str, *, uscc: str | None = "91320200MA1XXXXX0A", name: str | None = NAME,
        path: str = "江苏省", direction: str | None = "experience_center") -> VersionDoc:
    fields = {k: v for k, v in (("uscc", uscc), ("project_name", name)) if v is not None}
    rec = Record(application_id="", campaign="2023", direction=direction, status="accepted", recommender_path=path,
                 fields=fields, source=SourceInfo(key=f"{path}/{key}", recommender_path=path),
                 pipeline_version="t", processed_at="t")
    return VersionDoc(vid=f"{key}-{run}", first_seen_run=run, processed_run=run, record=rec)


def chains_of(docs: list[VersionDoc]) -> list[list[str]]:
    return [[d.vid for d in c.versions] for c in link_versions(docs, CAMPAIGN)]


def test_correction_in_a_later_run_continues_the_chain():
    assert chains_of([doc("a.docx", "r1"), doc("b.docx", "r2")]) == [["a.docx-r1", "b.docx-r2"]]


def test_same_project_in_the_same_run_is_two_applications():
    assert chains_of([doc("a.docx", "r1"), doc("b.docx", "r1")]) == [["a.docx-r1"], ["b.docx-r1"]]


def test_near_same_name_links_and_another_name_does_not():
    assert len(chains_of([doc("a.docx", "r1"), doc("b.docx", "r2", name=NAME + "（一期）")])) == 1
    assert len(chains_of([doc("a.docx", "r1"), doc("b.docx", "r2", name="苏州数字生活馆")])) == 2


def test_other_folder_usc_or_direction_is_another_application():
    base = doc("a.docx", "r1")
    for other in (doc("b.docx", "r2", path="浙江省"), doc("b.docx", "r2", uscc="91330000MA2YYYYY0B"),
                  doc("b.docx", "r2", direction="platform"), doc("b.docx", "r2", uscc=None)):
        assert len(chains_of([base, other])) == 2


def test_a_chain_is_found_under_its_current_upload():
    """a.docx changed its USCC in a second version: a correction matches the new one, not the old."""
    docs = [doc("a.docx", "r1"), doc("a.docx", "r1b", uscc="91320200MA1ZZZZZ0C"),
            doc("b.docx", "r2", uscc="91320200MA1ZZZZZ0C"), doc("c.docx", "r2")]
    assert chains_of(docs) == [["a.docx-r1", "a.docx-r1b", "b.docx-r2"], ["c.docx-r2"]]


def test_the_earliest_matching_chain_wins():
    docs = [doc("a.docx", "r1"), doc("b.docx", "r1"), doc("c.docx", "r2")]
    assert chains_of(docs) == [["a.docx-r1", "c.docx-r2"], ["b.docx-r1"]]


def test_same_project_is_one_definition():
    a, b, c = (doc(k, "r1").record for k in ("a", "b", "c"))
    c.fields["project_name"] = "另一个项目"
    assert same_project(identity_of(a), identity_of(b), 0.85)
    assert not same_project(identity_of(a), identity_of(c), 0.85)
    assert same_project_clusters([a, b, c], 0.85) == [[a, b]]
    b.fields["uscc"] = b.fields["uscc"].lower()  # case does not matter
    assert same_project(identity_of(a), identity_of(b), 0.85)
