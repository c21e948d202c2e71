"""Record status from findings, and reviewers' waivers: policy, (de)serialisation, application."""

from __future__ import annotations

import json

import pytest

from formintake import validators  # noqa: F401  (registers the per-application codes)
import formintake.validators.batch  # noqa: F401
import formintake.validators.routing  # noqa: F401
from formintake.config import load_campaign
from formintake.models import Finding, Record, SourceInfo, Waiver
from formintake.status import compute_status, refresh_status
from formintake.waivers import (
    WaiverError,
    add_waiver,
    add_waiver_to_store,
    apply_waivers,
    dump_waivers,
    load_waivers,
    remove_waiver,
    waivable,
    waivers_key,
)
from formintake.validators.registry import RULES

CAMPAIGN = load_campaign("2023")


def fnd(code: str, field: str = "", severity: str | None = None) -> Finding:
    return Finding(code=code, severity=severity or RULES[code].severity, field=field, message=code)


def rec(app_id: str, findings: list[Finding], status: str = "accepted") -> Record:
    return Record(
        application_id=app_id, campaign="2023", direction="experience_center", status=status, findings=findings,
        source=SourceInfo(key=f"江苏省/{app_id}.docx"), pipeline_version="test", processed_at="2023-09-10T00:00:00Z",
    )


W = dict(by="张三", at="2023-09-20T08:00:00+00:00", reason="现场核实")


# ---- status ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "findings,readable,status",
    [
        ([], True, "accepted"),
        ([fnd("PLATFORM_QUOTA_NONE")], True, "accepted"),
        ([fnd("CENTER_AREA_BELOW_300", "area_sqm")], True, "needs_review"),
        ([fnd("CENTER_AREA_BELOW_300", "area_sqm"), fnd("QUOTA_EXCEEDED", "recommend_rank")], True, "rejected"),
        ([fnd("FILE_CORRUPT")], False, "unreadable"),
        ([], False, "unreadable"),
    ],
)
def test_compute_status(findings, readable, status):
    assert compute_status(findings, readable=readable) == status


def test_waived_findings_do_not_count():
    warn = fnd("CENTER_AREA_BELOW_300", "area_sqm")
    warn.waiver = Waiver(application_id="a", code=warn.code, field="area_sqm", **W)
    assert compute_status([warn], readable=True) == "accepted"
    err = fnd("DUPLICATE_APPLICATION", "project_name")
    err.waiver = Waiver(application_id="a", code=err.code, field="project_name", **W)
    assert compute_status([warn, err], readable=True) == "accepted"
    assert compute_status([warn, err, fnd("CENTER_NO_TECH", "tech_means")], readable=True) == "needs_review"


def test_refresh_status_keeps_superseded_and_unreadable():
    for status in ("superseded", "unreadable"):
        r = rec("a", [], status=status)
        refresh_status(r)
        assert r.status == status
    r = rec("a", [fnd("CENTER_NO_TECH", "tech_means")])
    refresh_status(r)
    assert r.status == "needs_review"


# ---- policy ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code,ok",
    [
        ("CENTER_AREA_BELOW_300", True),  # a warning: 原则上
        ("RECOMMENDER_REGION_MISMATCH", True),
        ("FILE_OCR_USED", True),  # an intake warning: the reviewer compared with the scan
        ("DUPLICATE_APPLICATION", True),  # near-same names may be two projects
        ("RECOMMENDER_UNKNOWN", True),  # the central-enterprise list is partial
        ("CITY_EXTRA_NOT_DEMO_CITY", True),  # the demonstration-city list is a reconstruction
        ("RECOMMENDER_PATH_MISMATCH", True),
        ("APPLICANT_NAME_MISMATCH", True),
        ("QUOTA_EXCEEDED", False),  # 不超过5个
        ("CITY_EXTRA_QUOTA_EXCEEDED", False),
        ("CITY_EXTRA_NOT_VIA_PROVINCE", False),
        ("LATE_SUBMISSION", False),
        ("PLATFORM_MAU_BELOW_100M", False),
        ("USCC_INVALID", False),
        ("FIELD_MISSING", False),
        ("FILE_CORRUPT", False),  # no waiver makes a file readable
        ("PLATFORM_QUOTA_NONE", False),  # info: nothing to waive
        ("NO_SUCH_CODE", False),
    ],
)
def test_waivable(code, ok):
    assert waivable(code, CAMPAIGN) is ok
    assert waivable(code) is ok  # the packaged default agrees with 2023.toml


def test_waivable_errors_come_from_config():
    camp = CAMPAIGN.model_copy(update={"waivers": CAMPAIGN.waivers.model_copy(update={"waivable_errors": ["QUOTA_EXCEEDED"]})})
    assert waivable("QUOTA_EXCEEDED", camp) and not waivable("DUPLICATE_APPLICATION", camp)
    assert waivable("CENTER_AREA_BELOW_300", camp)
    intake = CAMPAIGN.model_copy(update={"waivers": CAMPAIGN.waivers.model_copy(update={"waivable_errors": ["FILE_CORRUPT"]})})
    assert not waivable("FILE_CORRUPT", intake)


# ---- (de)serialisation -------------------------------------------------------------------------------


def test_load_empty():
    assert load_waivers(None) == [] and load_waivers(b"") == [] and load_waivers(b"  \n") == []


def test_round_trip():
    ws = [
        Waiver(application_id="b", code="CENTER_AREA_BELOW_300", field="area_sqm", **W),
        Waiver(application_id="a", code="DUPLICATE_APPLICATION", field="project_name", by="李四", at=W["at"], reason="两个不同门店"),
    ]
    data = dump_waivers(ws, "2023")
    doc = json.loads(data)
    assert doc["campaign"] == "2023" and [w["application_id"] for w in doc["waivers"]] == ["a", "b"]
    assert "两个不同门店" in data.decode("utf-8")  # readable Chinese, not \u escapes
    assert sorted(load_waivers(data), key=lambda w: w.application_id) == sorted(ws, key=lambda w: w.application_id)
    assert load_waivers(json.dumps(doc["waivers"]).encode()) == load_waivers(data)  # a bare list is accepted


@pytest.mark.parametrize("data", [b"{not json", b'{"waivers": [{"code": "X"}]}', b'"text"'])
def test_broken_file_is_an_error(data):
    with pytest.raises(WaiverError):
        load_waivers(data)


# ---- apply -------------------------------------------------------------------------------------------


def test_apply_waivers_matches_app_code_field_and_sets_status():
    a = rec("a", [fnd("CENTER_AREA_BELOW_300", "area_sqm")], status="needs_review")
    b = rec("b", [fnd("CENTER_AREA_BELOW_300", "area_sqm"), fnd("DUPLICATE_APPLICATION", "project_name")], status="rejected")
    c = rec("c", [fnd("QUOTA_EXCEEDED", "recommend_rank")], status="rejected")
    d = rec("d", [fnd("FIELD_MISSING", "summary"), fnd("FIELD_MISSING", "contact_email")], status="rejected")
    waivers = [
        Waiver(application_id="a", code="CENTER_AREA_BELOW_300", field="area_sqm", **W),
        Waiver(application_id="b", code="DUPLICATE_APPLICATION", field="project_name", **W),
        Waiver(application_id="b", code="CENTER_AREA_BELOW_300", field="other_field", **W),  # field must match
        Waiver(application_id="c", code="QUOTA_EXCEEDED", field="recommend_rank", **W),  # not waivable: ignored
        Waiver(application_id="zzz", code="CENTER_AREA_BELOW_300", field="area_sqm", **W),  # no such application
    ]
    apply_waivers([a, b, c, d], waivers, CAMPAIGN)
    assert [f.waived for f in a.findings] == [True] and a.status == "accepted"
    assert [f.waived for f in b.findings] == [False, True] and b.status == "needs_review"
    assert b.findings[1].waiver.by == "张三"
    assert [f.waived for f in c.findings] == [False] and c.status == "rejected"
    assert d.status == "rejected"


def test_apply_waivers_clears_withdrawn_and_survives_rerun():
    a = rec("a", [fnd("CENTER_AREA_BELOW_300", "area_sqm")], status="needs_review")
    ws = [Waiver(application_id="a", code="CENTER_AREA_BELOW_300", field="area_sqm", **W)]
    apply_waivers([a], ws)
    assert a.status == "accepted"
    # a re-run: the same application id, fresh findings, the waivers file read back
    rerun = rec("a", [fnd("CENTER_AREA_BELOW_300", "area_sqm")], status="needs_review")
    apply_waivers([rerun], load_waivers(dump_waivers(ws, "2023")))
    assert rerun.status == "accepted" and rerun.findings[0].waived
    assert remove_waiver(ws, "a", "center_area_below_300", "area_sqm") and ws == []
    apply_waivers([rerun], ws)
    assert rerun.status == "needs_review" and not rerun.findings[0].waived


def test_apply_waivers_leaves_unreadable_and_superseded():
    u = rec("u", [fnd("FILE_CORRUPT")], status="unreadable")
    s = rec("s", [fnd("CENTER_AREA_BELOW_300", "area_sqm")], status="superseded")
    apply_waivers([u, s], [Waiver(application_id="s", code="CENTER_AREA_BELOW_300", field="area_sqm", **W)])
    assert (u.status, s.status) == ("unreadable", "superseded")


# ---- add ---------------------------------------------------------------------------------------------


def test_add_waiver_validates_and_infers_field():
    r = rec("a", [fnd("CENTER_AREA_BELOW_300", "area_sqm"), fnd("FIELD_MISSING", "summary")])
    ws: list[Waiver] = []
    w = add_waiver(ws, "a", "center_area_below_300", by="张三", reason="原则上", record=r)
    assert (w.code, w.field, w.by) == ("CENTER_AREA_BELOW_300", "area_sqm", "张三") and w.at and ws == [w]
    w2 = add_waiver(ws, "a", "CENTER_AREA_BELOW_300", by="李四", reason="复核", record=r)  # replaces
    assert ws == [w2]
    with pytest.raises(WaiverError, match="cannot be waived"):
        add_waiver(ws, "a", "FIELD_MISSING", by="张三", reason="x", record=r)
    with pytest.raises(WaiverError, match="no CENTER_NO_TECH"):
        add_waiver(ws, "a", "CENTER_NO_TECH", by="张三", reason="x", record=r)
    with pytest.raises(WaiverError, match="field"):
        add_waiver(ws, "a", "CENTER_AREA_BELOW_300", by="张三", reason="x", field="functions", record=r)
    with pytest.raises(WaiverError, match="--by"):
        add_waiver(ws, "a", "CENTER_AREA_BELOW_300", by=" ", reason="x")


def test_add_waiver_needs_field_when_ambiguous():
    r = rec("a", [fnd("RECOMMENDER_UNKNOWN", ""), fnd("RECOMMENDER_UNKNOWN", "recommender")])
    ws: list[Waiver] = []
    assert add_waiver(ws, "a", "RECOMMENDER_UNKNOWN", by="张三", reason="x", record=r).field == ""
    r2 = rec("b", [fnd("CENTER_AREA_BELOW_300", "a"), fnd("CENTER_AREA_BELOW_300", "b")])
    with pytest.raises(WaiverError, match="give --field"):
        add_waiver(ws, "b", "CENTER_AREA_BELOW_300", by="张三", reason="x", record=r2)


class MemStore:
    def __init__(self):
        self.data: dict[str, bytes] = {}

    def get(self, key, version_id=None):
        return self.data[key]

    def put(self, key, data, content_type="application/octet-stream"):
        self.data[key] = data


def test_add_waiver_to_store():
    store = MemStore()
    r = rec("app-1", [fnd("DUPLICATE_APPLICATION", "project_name")], status="rejected")
    store.put("records/2023/app-1.json", r.model_dump_json().encode())
    w = add_waiver_to_store(store, "2023", "app-1", "DUPLICATE_APPLICATION", by="张三", reason="两个门店")
    assert w.field == "project_name"
    saved = load_waivers(store.data[waivers_key("2023")])
    assert saved == [w]
    add_waiver_to_store(store, "2023", "app-1", "DUPLICATE_APPLICATION", by="李四", reason="再次核实")
    assert [x.by for x in load_waivers(store.data[waivers_key("2023")])] == ["李四"]
    with pytest.raises(WaiverError, match="no application"):
        add_waiver_to_store(store, "2023", "app-2", "DUPLICATE_APPLICATION", by="张三", reason="x")
