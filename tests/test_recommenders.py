"""Recommending units: name resolution, placing addresses, and the two routing rules on one form."""

from __future__ import annotations

import pytest

from formintake.config import load_campaign
from formintake.models import ExtractedForm, FieldValue
from formintake.validators.recommenders import resolve_recommender
from formintake.validators.registry import RuleContext
from formintake.validators.routing import check_path_mismatch, check_region_mismatch, locate, outside

CAMPAIGN = load_campaign("2023")

# (as written, key, kind, region)
RESOLVES = [
    # province-level departments under their several names
    ("江苏省工业和信息化厅", "江苏省", "province", "江苏省"),
    ("浙江省经济和信息化厅", "浙江省", "province", "浙江省"),
    ("北京市经济和信息化局", "北京市", "municipality", "北京市"),
    ("上海市经济和信息化委员会", "上海市", "municipality", "上海市"),
    ("重庆市经济和信息化委员会", "重庆市", "municipality", "重庆市"),
    ("广西壮族自治区工业和信息化厅", "广西壮族自治区", "province", "广西壮族自治区"),
    ("内蒙古自治区工业和信息化厅", "内蒙古自治区", "province", "内蒙古自治区"),
    ("新疆维吾尔自治区工业和信息化厅", "新疆维吾尔自治区", "province", "新疆维吾尔自治区"),
    ("四川省经济和信息化厅", "四川省", "province", "四川省"),
    ("湖南省工信厅", "湖南省", "province", "湖南省"),
    ("广东省工业和信息化主管部门", "广东省", "province", "广东省"),
    # short forms, seal notes, spaces, full-width brackets, a label
    ("江苏", "江苏省", "province", "江苏省"),
    ("江苏省", "江苏省", "province", "江苏省"),
    ("广西", "广西壮族自治区", "province", "广西壮族自治区"),
    ("北京", "北京市", "municipality", "北京市"),
    ("新疆", "新疆维吾尔自治区", "province", "新疆维吾尔自治区"),
    ("江苏省工业和信息化厅（盖章）", "江苏省", "province", "江苏省"),
    ("江苏省工业和信息化厅(盖章)", "江苏省", "province", "江苏省"),
    ("江苏省工业和信息化厅（公章）。", "江苏省", "province", "江苏省"),
    (" 江 苏 省  工业和信息化厅 ", "江苏省", "province", "江苏省"),
    ("江苏省\u3000工业和信息化厅", "江苏省", "province", "江苏省"),
    ("推荐单位（盖章）：江苏省工业和信息化厅", "江苏省", "province", "江苏省"),
    # 计划单列市
    ("深圳市工业和信息化局", "深圳市", "plan_city", "广东省"),
    ("深圳", "深圳市", "plan_city", "广东省"),
    ("广东省深圳市工业和信息化局", "深圳市", "plan_city", "广东省"),
    ("大连市工业和信息化局", "大连市", "plan_city", "辽宁省"),
    ("青岛市工业和信息化局", "青岛市", "plan_city", "山东省"),
    ("宁波市经济和信息化局", "宁波市", "plan_city", "浙江省"),
    ("厦门市工业和信息化局", "厦门市", "plan_city", "福建省"),
    # 兵团
    ("新疆生产建设兵团工业和信息化局", "新疆生产建设兵团", "corps", "新疆维吾尔自治区"),
    ("新疆生产建设兵团", "新疆生产建设兵团", "corps", "新疆维吾尔自治区"),
    ("兵团工业和信息化局", "新疆生产建设兵团", "corps", "新疆维吾尔自治区"),
    # central enterprises: full name, alias, brackets dropped, seal
    ("中国移动通信集团有限公司", "中国移动通信集团有限公司", "central_enterprise", None),
    ("中国移动", "中国移动通信集团有限公司", "central_enterprise", None),
    ("中国移动通信集团有限公司（盖章）", "中国移动通信集团有限公司", "central_enterprise", None),
    ("中国联通", "中国联合网络通信集团有限公司", "central_enterprise", None),
    ("华润集团有限公司", "华润（集团）有限公司", "central_enterprise", None),
    ("华润(集团)有限公司", "华润（集团）有限公司", "central_enterprise", None),
    # a demonstration city's department (for its extras)
    ("无锡市工业和信息化局", "无锡市", "demo_city", "江苏省"),
    ("无锡市", "无锡市", "demo_city", "江苏省"),
    ("江苏省无锡市工业和信息化局", "无锡市", "demo_city", "江苏省"),
    ("杭州市经济和信息化局", "杭州市", "demo_city", "浙江省"),
    ("昆明市工业和信息化局", "昆明市", "demo_city", "云南省"),
]

UNKNOWN = [
    None,
    "",
    "  ",
    "（盖章）",
    "苏州市工业和信息化局",  # not a demonstration city
    "江苏省发展和改革委员会",  # not the industry and IT department
    "中国移动通信集团江苏有限公司",  # a subsidiary, not the group company
    "江苏省深圳市工业和信息化局",  # a city in the wrong province
    "工业和信息化厅",  # a department of nowhere
    "某某科技有限公司",
]


@pytest.mark.parametrize("text,key,kind,region", RESOLVES)
def test_resolve(text, key, kind, region):
    u = resolve_recommender(text, CAMPAIGN)
    assert u is not None, text
    assert (u.key, u.kind, u.region) == (key, kind, region)
    assert u.zh_kind


@pytest.mark.parametrize("text", UNKNOWN)
def test_resolve_unknown(text):
    assert resolve_recommender(text, CAMPAIGN) is None


def test_zh_kinds():
    kinds = {resolve_recommender(t, CAMPAIGN).zh_kind for t in ("江苏", "北京", "深圳", "兵团", "中国移动", "无锡")}
    assert kinds == {"省（自治区）", "直辖市", "计划单列市", "新疆生产建设兵团", "中央企业", "信息消费示范城市"}


def test_lists_come_from_config():
    # a new central enterprise in the campaign file is a unit without a code change
    rc = CAMPAIGN.recommenders.model_copy(update={"central_enterprises": [*CAMPAIGN.recommenders.central_enterprises, "中国星网集团有限公司"]})
    camp = CAMPAIGN.model_copy(update={"recommenders": rc})
    assert resolve_recommender("中国星网集团有限公司", CAMPAIGN) is None
    assert resolve_recommender("中国星网集团有限公司（盖章）", camp).kind == "central_enterprise"


# ---- placing a location ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "texts,expected",
    [
        (("苏州市",), ("江苏省", "苏州")),
        (("苏州",), ("江苏省", "苏州")),
        (("江苏省苏州市工业园区星湖街1号",), ("江苏省", "苏州")),
        (("苏州市工业园区星湖街1号",), ("江苏省", "苏州")),
        (("上海市浦东新区张江路",), ("上海市", "上海")),
        (("深圳市南山区科技园",), ("广东省", "深圳")),
        (("昆山市花桥镇",), ("江苏省", "昆山")),
        (("吉林市船营区",), ("吉林省", "吉林")),
        (("海南藏族自治州共和县",), ("青海省", "海南藏族自治州")),
        (("石河子市北四路",), ("新疆维吾尔自治区", "石河子")),
        (("中国江苏省南京市",), ("江苏省", None)),
        (("朝阳区建国路",), (None, None)),  # 朝阳区 is in several places: not judged
        ((None, "无锡市梁溪区中山路"), ("江苏省", "无锡")),
        (("无锡市", "江苏省苏州市"), ("江苏省", "无锡")),  # the city field wins
        ((None, None), (None, None)),
    ],
)
def test_locate(texts, expected):
    assert locate(*texts) == expected


def test_outside():
    js, sz, ce = (resolve_recommender(t, CAMPAIGN) for t in ("江苏", "深圳", "中国移动"))
    assert outside(js, "浙江省", "杭州") and not outside(js, "江苏省", "苏州") and not outside(js, None, None)
    assert outside(sz, "广东省", "广州") and not outside(sz, "广东省", "深圳") and not outside(sz, "广东省", None)
    assert outside(sz, "江苏省", None)
    assert not outside(ce, "西藏自治区", "拉萨")


# ---- the two per-application rules -------------------------------------------------------------------


def form(direction="platform", **values) -> ExtractedForm:
    return ExtractedForm(
        source="x.docx",
        file_type="docx",
        direction=direction,
        fields={k: FieldValue(key=k, value=v, raw=str(v)) for k, v in values.items() if v is not None},
    )


def run(f: ExtractedForm, path: str | None) -> list[str]:
    ctx = RuleContext(campaign=CAMPAIGN, recommender_path=path)
    return [x.code for x in (*check_path_mismatch(f, ctx), *check_region_mismatch(f, ctx))]


PLATFORM_SZ = dict(registered_address="广东省深圳市南山区科技园")
CENTER_WX = dict(center_city="无锡市", center_address="无锡市梁溪区中山路1号", registered_address="江苏省南京市")

ROUTING = [
    # name, direction, values, folder, expected codes
    ("same unit, variant names", "platform", dict(recommender="深圳市工业和信息化局（盖章）", **PLATFORM_SZ), "深圳市", []),
    ("folder name is a variant too", "platform", dict(recommender="深圳", **PLATFORM_SZ), "深圳市工业和信息化局", []),
    ("form and folder differ", "platform", dict(recommender="广东省工业和信息化厅", **PLATFORM_SZ), "深圳市", ["RECOMMENDER_PATH_MISMATCH"]),
    ("plan city under its province", "platform", dict(recommender="深圳市工业和信息化局", **PLATFORM_SZ), "广东省", ["RECOMMENDER_PATH_MISMATCH"]),
    ("demo city extra filed via its province", "experience_center", dict(recommender="无锡市工业和信息化局", demo_city="无锡市", **CENTER_WX), "江苏省", []),
    ("demo city extra filed via another province", "experience_center", dict(recommender="无锡市工业和信息化局", demo_city="无锡市", **CENTER_WX), "浙江省", ["RECOMMENDER_PATH_MISMATCH"]),
    ("province form under a demo city folder", "experience_center", dict(recommender="江苏省工业和信息化厅", **CENTER_WX), "无锡市", ["RECOMMENDER_PATH_MISMATCH"]),
    ("demo city files itself: not a path mismatch", "experience_center", dict(recommender="无锡市工业和信息化局", demo_city="无锡市", **CENTER_WX), "无锡市", []),
    ("central enterprise alias vs full name", "platform", dict(recommender="中国移动", registered_address="北京市西城区"), "中国移动通信集团有限公司", []),
    ("unknown form unit: left to RECOMMENDER_UNKNOWN", "platform", dict(recommender="苏州市工业和信息化局", registered_address="江苏省苏州市"), "江苏省", []),
    ("unknown folder: left to RECOMMENDER_UNKNOWN", "platform", dict(recommender="江苏省工业和信息化厅", registered_address="江苏省苏州市"), "杂项", []),
    ("no recommender written", "platform", dict(registered_address="江苏省苏州市"), "江苏省", []),
    ("no folder", "platform", dict(recommender="江苏省工业和信息化厅", registered_address="江苏省苏州市"), None, []),
    # region
    ("applicant in another province", "platform", dict(recommender="江苏省工业和信息化厅", registered_address="浙江省杭州市西湖区"), "江苏省", ["RECOMMENDER_REGION_MISMATCH"]),
    ("applicant city without province, elsewhere", "platform", dict(recommender="江苏省工业和信息化厅", registered_address="杭州市西湖区文三路"), "江苏省", ["RECOMMENDER_REGION_MISMATCH"]),
    ("address that cannot be placed", "platform", dict(recommender="江苏省工业和信息化厅", registered_address="朝阳区建国路88号"), "江苏省", []),
    ("central enterprise exempt", "platform", dict(recommender="中国移动通信集团有限公司", registered_address="广东省广州市"), "中国移动", []),
    ("plan city covers only its city", "platform", dict(recommender="深圳市工业和信息化局", registered_address="广东省广州市天河区"), "深圳市", ["RECOMMENDER_REGION_MISMATCH"]),
    ("province covers its plan city", "platform", dict(recommender="广东省工业和信息化厅", registered_address="深圳市南山区"), "广东省", []),
    ("corps covers 新疆", "platform", dict(recommender="新疆生产建设兵团工业和信息化局", registered_address="新疆维吾尔自治区石河子市"), "新疆生产建设兵团", []),
    ("corps outside 新疆", "platform", dict(recommender="新疆生产建设兵团工业和信息化局", registered_address="甘肃省兰州市"), "新疆生产建设兵团", ["RECOMMENDER_REGION_MISMATCH"]),
    ("center judged by its city, not the HQ", "experience_center", dict(recommender="浙江省经济和信息化厅", center_city="杭州市", registered_address="北京市海淀区"), "浙江省", []),
    ("center in another province", "experience_center", dict(recommender="浙江省经济和信息化厅", center_city="苏州市", registered_address="浙江省杭州市"), "浙江省", ["RECOMMENDER_REGION_MISMATCH"]),
    ("center city empty: its address", "experience_center", dict(recommender="浙江省经济和信息化厅", center_address="江苏省苏州市工业园区", registered_address="浙江省杭州市"), "浙江省", ["RECOMMENDER_REGION_MISMATCH"]),
    ("demo city covers only its city", "experience_center", dict(recommender="无锡市工业和信息化局", demo_city="无锡市", center_city="苏州市"), "江苏省", ["RECOMMENDER_REGION_MISMATCH"]),
    ("demo city extra in the city", "experience_center", dict(recommender="无锡市工业和信息化局", demo_city="无锡市", **CENTER_WX), "江苏省", []),
    ("unit from the folder when the form has none", "platform", dict(registered_address="浙江省杭州市"), "江苏省", ["RECOMMENDER_REGION_MISMATCH"]),
    ("both wrong", "platform", dict(recommender="浙江省经济和信息化厅", registered_address="江苏省南京市"), "江苏省", ["RECOMMENDER_PATH_MISMATCH", "RECOMMENDER_REGION_MISMATCH"]),
]


@pytest.mark.parametrize("name,direction,values,path,expected", ROUTING, ids=[r[0] for r in ROUTING])
def test_routing(name, direction, values, path, expected):
    assert run(form(direction, **values), path) == expected


def test_path_mismatch_finding_content():
    f = form("platform", recommender="广东省工业和信息化厅", **PLATFORM_SZ)
    (finding,) = check_path_mismatch(f, RuleContext(campaign=CAMPAIGN, recommender_path="深圳市"))
    assert (finding.severity, finding.field, finding.value) == ("error", "recommender", "广东省工业和信息化厅")
    assert "深圳市" in finding.expected and "广东省" in finding.message


def test_region_mismatch_finding_content():
    f = form("experience_center", recommender="浙江省经济和信息化厅", center_city="苏州市")
    (finding,) = check_region_mismatch(f, RuleContext(campaign=CAMPAIGN, recommender_path="浙江省"))
    assert (finding.severity, finding.field, finding.value) == ("warning", "center_city", "苏州市")
    assert "浙江省" in finding.expected


def test_campaign_objects_are_not_kept_alive_by_the_unit_index():
    """Every extraction job unpickles its own Campaign. The unit index is cached by the campaign's
    content, so a worker that read 200 documents holds one index and none of the 200 campaigns
    (it used to keep an index and its campaign per object: ~95 KB a document, never freed)."""
    import gc
    import pickle
    import weakref

    data = pickle.dumps(CAMPAIGN)
    refs = []
    for _ in range(200):
        campaign = pickle.loads(data)
        assert resolve_recommender("江苏省工业和信息化厅", campaign).key == "江苏省"
        refs.append(weakref.ref(campaign))
        del campaign
    gc.collect()
    alive = sum(1 for r in refs if r() is not None)
    assert alive <= 1  # the one whose index serves the same content, at most


def test_a_campaign_with_other_units_gets_its_own_index():
    other = CAMPAIGN.model_copy(deep=True)
    other.recommenders.provinces = [p for p in other.recommenders.provinces if p != "江苏省"]
    assert resolve_recommender("江苏省工业和信息化厅", CAMPAIGN).key == "江苏省"
    assert resolve_recommender("江苏省工业和信息化厅", other) is None
    assert resolve_recommender("江苏省工业和信息化厅", CAMPAIGN).key == "江苏省"
