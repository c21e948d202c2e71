"""Batch rules: for every code a small batch of records that triggers it and one that does not.

Each test asserts the exact set of batch codes per application id (``run_batch_rules``), so a rule that
fires where it should not shows up too.
"""

from __future__ import annotations

import itertools

import pytest

from formintake.config import load_campaign
from formintake.models import Evidence, Record, SourceInfo
from formintake.validators.batch import beyond_quota, quota_usage, run_batch_rules

CAMPAIGN = load_campaign("2023")
_seq = itertools.count(1)


def rec(app_id: str, path: str | None, direction: str | None = "experience_center", *, status="accepted",
        uploaded_at: str | None = "2023-09-01T02:00:00Z", **fields) -> Record:
    """A record filed under ``path``; by default a distinct applicant and project, stamped by ``path``."""
    n = next(_seq)
    base = {
        "recommender": path,
        "uscc": f"91320000MA{n:08d}",
        "project_name": f"第{n}号{'平台' if direction == 'platform' else '体验中心'}项目{app_id}",
        "recommender_date": "2023-09-01",
    }
    if status == "unreadable":
        base, direction = {}, None
    base.update(fields)
    return Record(
        application_id=app_id,
        campaign="2023",
        direction=direction,
        status=status,
        recommender_path=path,
        fields={k: v for k, v in base.items() if v is not None},
        evidence={"recommender": Evidence(method="docx-table", table=0, row=3, col=1)},
        source=SourceInfo(key=f"{path}/{app_id}.docx", recommender_path=path, uploaded_at=uploaded_at),
        pipeline_version="test",
        processed_at="2023-09-10T00:00:00+00:00",
    )


def codes(records, campaign=CAMPAIGN) -> dict[str, set[str]]:
    return {k: {f.code for f in v} for k, v in run_batch_rules(records, campaign).items()}


def only(expected: dict[str, set[str]], records) -> None:
    """Every record not named in ``expected`` has no batch finding."""
    want = {r.application_id: set() for r in records} | expected
    assert codes(records) == want


# ---- RECOMMENDER_UNKNOWN -----------------------------------------------------------------------------


def test_recommender_unknown_fires():
    records = [
        rec("unknown-folder", "杂项", recommender="江苏省工业和信息化厅"),
        rec("unknown-form", "江苏省", recommender="苏州市工业和信息化局"),
        rec("subsidiary", "中国移动", recommender="中国移动通信集团江苏有限公司", direction="platform"),
        rec("demo-city-platform", "江苏省", direction="platform", recommender="无锡市工业和信息化局"),
        rec("no-folder-no-unit", None, recommender=None),
        rec("unreadable-in-bad-folder", "临时文件夹", status="unreadable"),
    ]
    only({k: {"RECOMMENDER_UNKNOWN"} for k in (
        "unknown-folder", "unknown-form", "subsidiary", "demo-city-platform", "no-folder-no-unit",
        "unreadable-in-bad-folder")}, records)
    fields = {k: sorted(f.field for f in v) for k, v in run_batch_rules(records, CAMPAIGN).items()}
    assert fields["unknown-folder"] == [""] and fields["unknown-form"] == ["recommender"]
    assert fields["demo-city-platform"] == ["recommender"]


def test_recommender_unknown_quiet():
    records = [
        rec("province", "江苏省", recommender="江苏省工业和信息化厅（盖章）"),
        rec("plan-city", "深圳市工业和信息化局", recommender="深圳市工业和信息化局", center_city="深圳市"),
        rec("corps", "新疆生产建设兵团", direction="platform", recommender="兵团"),
        rec("central", "中国移动通信集团有限公司", direction="platform", recommender="中国移动"),
        rec("demo-extra", "江苏省", recommender="无锡市工业和信息化局", demo_city="无锡市"),
        rec("no-folder-form-known", None, recommender="浙江省经济和信息化厅"),
        rec("form-blank", "浙江省", recommender=None),  # FIELD_MISSING is not a batch matter
        rec("unreadable", "浙江省", status="unreadable"),
    ]
    only({}, records)


# ---- QUOTA_EXCEEDED ----------------------------------------------------------------------------------


def test_quota_exceeded_by_rank():
    records = [rec(f"js{i}", "江苏省", recommend_rank=i) for i in range(1, 8)]
    only({"js6": {"QUOTA_EXCEEDED"}, "js7": {"QUOTA_EXCEEDED"}}, records)


def test_quota_exceeded_without_ranks_flags_all():
    records = [rec(f"zj{i}", "浙江省") for i in range(6)]
    only({f"zj{i}": {"QUOTA_EXCEEDED"} for i in range(6)}, records)


def test_quota_exceeded_ties_and_missing_ranks():
    # ranks 1,2,3,4,5,5 + one unranked: both 5s straddle the boundary, the unranked one ranks last
    ranks = [1, 2, 3, 4, 5, 5, None]
    records = [rec(f"gd{i}", "广东省", recommend_rank=r) for i, r in enumerate(ranks)]
    only({"gd4": {"QUOTA_EXCEEDED"}, "gd5": {"QUOTA_EXCEEDED"}, "gd6": {"QUOTA_EXCEEDED"}}, records)


def test_quota_exceeded_counts_filing_unit_and_invalid_extras():
    # 5 regular + 1 claiming a non-demo city (counts as regular) -> 6 > 5
    records = [rec(f"ah{i}", "安徽省", recommend_rank=i) for i in range(1, 6)]
    records.append(rec("ah-fake-extra", "安徽省", demo_city="苏州市", recommend_rank=6))
    only({"ah-fake-extra": {"QUOTA_EXCEEDED", "CITY_EXTRA_NOT_DEMO_CITY"}}, records)


def test_quota_exceeded_quiet():
    records = [rec(f"js{i}", "江苏省") for i in range(5)]  # exactly 5, ranks not needed
    records += [rec(f"js-extra{i}", "江苏省", demo_city="无锡市", recommend_rank=i) for i in (1, 2)]  # extras apart
    records += [rec(f"js-plat{i}", "江苏省", direction="platform") for i in range(3)]  # platforms apart
    records += [rec("js-unreadable", "江苏省", status="unreadable")]  # direction unknown: not counted
    records += [rec(f"sz{i}", "深圳市") for i in range(5)]  # a 计划单列市 has its own 5
    records += [rec(f"gd{i}", "广东省") for i in range(5)]
    only({}, records)


# ---- CITY_EXTRA_QUOTA_EXCEEDED -----------------------------------------------------------------------


def test_city_extra_quota_exceeded():
    records = [rec(f"wx{i}", "江苏省", demo_city="无锡市", recommend_rank=i) for i in (1, 2, 3)]
    records.append(rec("wx-unranked", "江苏省", recommender="无锡市工业和信息化局"))  # an extra by its stamp
    only({"wx3": {"CITY_EXTRA_QUOTA_EXCEEDED"}, "wx-unranked": {"CITY_EXTRA_QUOTA_EXCEEDED"}}, records)


def test_city_extra_quota_quiet():
    records = [rec(f"wx{i}", "江苏省", demo_city="无锡", recommend_rank=i) for i in (1, 2)]
    records += [rec(f"nj{i}", "江苏省", demo_city="南京市") for i in (1, 2)]  # another city's 2
    records += [rec(f"sz{i}", "深圳市", demo_city="深圳市") for i in (1, 2)]  # 计划单列市 files itself
    records += [rec("wx-platform", "江苏省", direction="platform", demo_city="无锡市")]  # platforms are never extras
    only({}, records)


# ---- CITY_EXTRA_NOT_DEMO_CITY ------------------------------------------------------------------------


def test_city_extra_not_demo_city():
    records = [rec("sz-not-demo", "江苏省", demo_city="苏州市"), rec("xx", "浙江省", demo_city="某某市")]
    only({"sz-not-demo": {"CITY_EXTRA_NOT_DEMO_CITY"}, "xx": {"CITY_EXTRA_NOT_DEMO_CITY"}}, records)
    f = run_batch_rules(records, CAMPAIGN)["sz-not-demo"][0]
    assert (f.field, f.value, f.severity) == ("demo_city", "苏州市", "error")


def test_city_extra_not_demo_city_quiet():
    records = [
        rec("wx", "江苏省", demo_city="江苏省无锡市"),
        rec("none-marker", "江苏省", demo_city="无"),  # "not an extra"
        rec("slash", "江苏省", demo_city="/"),
        rec("platform", "江苏省", direction="platform", demo_city="苏州市"),  # platform: the cell is moot
    ]
    only({}, records)


# ---- CITY_EXTRA_NOT_VIA_PROVINCE ---------------------------------------------------------------------


def test_city_extra_not_via_province():
    records = [
        rec("wx-self", "无锡市", demo_city="无锡市"),  # filed by the city itself
        rec("wx-self-stamp", "无锡市工业和信息化局", recommender="无锡市工业和信息化局"),  # ... no cell, by its stamp
        rec("lyg-other-province", "浙江省", demo_city="连云港市"),
    ]
    only({k: {"CITY_EXTRA_NOT_VIA_PROVINCE"} for k in ("wx-self", "wx-self-stamp", "lyg-other-province")}, records)
    msgs = {k: v[0].message for k, v in run_batch_rules(records, CAMPAIGN).items()}
    assert "自行报送" in msgs["wx-self"] and "由浙江省报送" in msgs["lyg-other-province"]


def test_city_extra_via_province_quiet():
    records = [
        rec("wx", "江苏省", demo_city="无锡市"),
        rec("wx-stamp", "江苏省", recommender="无锡市工业和信息化局"),
        rec("bj", "北京市", demo_city="北京市"),  # 直辖市 files itself
        rec("sz", "深圳市", demo_city="深圳市"),  # 计划单列市 files itself
        rec("qd", "青岛市", demo_city="青岛"),
        rec("nb", "宁波市", demo_city="宁波市"),
    ]
    only({}, records)


# ---- PLATFORM_QUOTA_NONE -----------------------------------------------------------------------------


def test_platform_quota_none():
    records = [rec(f"p{i}", "北京市", direction="platform") for i in range(7)]
    result = run_batch_rules(records, CAMPAIGN)
    assert codes(records) == {f"p{i}": {"PLATFORM_QUOTA_NONE"} for i in range(7)}
    assert {f.severity for v in result.values() for f in v} == {"info"}


def test_platform_quota_none_quiet():
    records = [rec(f"p{i}", "北京市", direction="platform") for i in range(5)]
    records += [rec(f"c{i}", "北京市") for i in range(3)]
    only({}, records)


# ---- DUPLICATE_APPLICATION ---------------------------------------------------------------------------


def test_duplicate_application():
    same = dict(uscc="91320200MA1XXXXX0A", project_name="无锡智慧生活信息消费体验中心")
    records = [
        rec("a-js", "江苏省", **same),
        rec("a-cm", "中国移动", **{**same, "project_name": "无锡智慧生活信息消费体验中心（一期）"}),  # near-same
        rec("b1", "浙江省", uscc="91330100MA2YYYYY1B", project_name="杭州数字生活馆"),
        rec("b2", "浙江省", uscc="91330100ma2yyyyy1b", project_name="杭州 数字生活馆"),  # twice under one unit
    ]
    only({k: {"DUPLICATE_APPLICATION"} for k in ("a-js", "a-cm", "b1", "b2")}, records)
    f = run_batch_rules(records, CAMPAIGN)["a-js"][0]
    assert "a-cm" in f.message and "中国移动通信集团有限公司" in f.message and f.field == "project_name"


def test_duplicate_application_quiet():
    records = [
        rec("same-uscc-other-project", "江苏省", uscc="91320200MA1XXXXX0A", project_name="无锡智慧生活信息消费体验中心"),
        rec("other-project", "江苏省", uscc="91320200MA1XXXXX0A", project_name="南京新街口5G体验街区"),
        rec("other-direction", "江苏省", direction="platform", uscc="91320200MA1XXXXX0A", project_name="无锡智慧生活信息消费体验中心"),
        rec("other-uscc", "江苏省", uscc="91320200MA1ZZZZZ0C", project_name="无锡智慧生活信息消费体验中心"),
        rec("no-uscc", "江苏省", uscc=None, project_name="无锡智慧生活信息消费体验中心"),
        rec("unreadable", "江苏省", status="unreadable"),
    ]
    only({}, records)


def test_duplicate_threshold_from_config():
    a = rec("x1", "江苏省", uscc="U1", project_name="无锡智慧生活信息消费体验中心")
    b = rec("x2", "江苏省", uscc="U1", project_name="无锡智慧生活信息消费体验馆")  # ratio 0.89
    assert codes([a, b]) == {"x1": {"DUPLICATE_APPLICATION"}, "x2": {"DUPLICATE_APPLICATION"}}
    strict = CAMPAIGN.model_copy(update={"thresholds": CAMPAIGN.thresholds.model_copy(update={"near_same_name_ratio": 0.99})})
    assert codes([a, b], strict) == {"x1": set(), "x2": set()}


# ---- LATE_SUBMISSION ---------------------------------------------------------------------------------


def test_late_submission_recommender_date():
    records = [rec("late", "江苏省", recommender_date="2023-09-09"), rec("on-time", "江苏省", recommender_date="2023-09-08")]
    only({"late": {"LATE_SUBMISSION"}}, records)


def test_late_submission_upload_time():
    camp = CAMPAIGN.model_copy(update={"check_upload_time": True})
    records = [
        rec("late-upload", "江苏省", uploaded_at="2023-09-08T16:00:00Z"),  # 2023-09-09 00:00 in Beijing
        rec("last-second", "江苏省", uploaded_at="2023-09-08T15:59:59Z"),  # 23:59:59 in Beijing
        rec("offset", "江苏省", uploaded_at="2023-09-08T23:30:00+08:00"),
        rec("unreadable-late", "江苏省", status="unreadable", uploaded_at="2023-09-10T01:00:00+00:00"),
        rec("no-time", "江苏省", uploaded_at=None),
    ]
    assert codes(records, camp) == {
        "late-upload": {"LATE_SUBMISSION"}, "last-second": set(), "offset": set(), "unreadable-late": {"LATE_SUBMISSION"},
        "no-time": set(),
    }
    # the campaign switch is off by default: upload time alone is not judged
    only({}, records)


def test_late_submission_quiet():
    records = [rec("ok", "江苏省"), rec("no-date", "江苏省", recommender_date=None), rec("bad-date", "江苏省", recommender_date="九月")]
    only({}, records)


# ---- run_batch_rules, beyond_quota, quota_usage ------------------------------------------------------


def test_superseded_records_are_ignored():
    records = [rec(f"js{i}", "江苏省") for i in range(5)] + [rec("old", "江苏省", status="superseded")]
    assert codes(records) == {f"js{i}": set() for i in range(5)}


def test_findings_carry_catalogue_fields():
    records = [rec(f"js{i}", "江苏省", recommend_rank=i) for i in range(1, 7)]
    (f,) = run_batch_rules(records, CAMPAIGN)["js6"]
    assert (f.code, f.severity, f.field, f.value) == ("QUOTA_EXCEEDED", "error", "recommend_rank", 6)
    assert f.clause and f.message and f.expected and f.hint


@pytest.mark.parametrize(
    "ranks,quota,beyond",
    [
        ([1, 2, 3], 5, []),
        ([1, 2, 3, 4, 5, 6], 5, [5]),
        ([6, 5, 4, 3, 2, 1], 5, [0]),
        ([None] * 6, 5, [0, 1, 2, 3, 4, 5]),
        ([1, 1, 2], 2, [2]),
        ([1, 2, 2], 2, [1, 2]),
        ([1, None, None], 2, [1, 2]),
        ([0, 1, 2], 2, [0]),  # a rank below 1 is no rank
    ],
)
def test_beyond_quota(ranks, quota, beyond):
    records = [rec(f"r{i}", "江苏省", recommend_rank=r) for i, r in enumerate(ranks)]
    assert [r.application_id for r in beyond_quota(records, quota)] == [f"r{i}" for i in beyond]


def test_quota_usage():
    records = [rec(f"js{i}", "江苏省") for i in range(6)]
    records += [rec(f"wx{i}", "江苏省", demo_city="无锡市") for i in range(3)]
    records += [rec("wx-self", "无锡市", demo_city="无锡市")]
    records += [rec(f"jsp{i}", "江苏省", direction="platform") for i in range(2)]
    records += [rec("unknown", "杂项"), rec("unreadable", "江苏省", status="unreadable")]
    qu = quota_usage(records, CAMPAIGN)
    assert qu["units"]["江苏省"] == {
        "kind": "province", "kind_zh": "省（自治区）", "center_count": 6, "center_quota": 5, "extra_count": 3,
        "platform_count": 2, "over": True,
    }
    assert qu["units"]["无锡市"]["extra_count"] == 1 and qu["units"]["无锡市"]["center_count"] == 0
    assert set(qu["units"]) == {"江苏省", "无锡市"}
    assert qu["cities"] == {
        "无锡市": {"province": "江苏省", "kind": "地级市", "files_itself": False, "extras": 4, "quota": 2, "over": True}
    }
