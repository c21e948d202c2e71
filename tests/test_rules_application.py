"""Per-application rules: for every code a form that triggers it and a form that does not.

Forms are :class:`ExtractedForm` objects built directly from the sample generator's valid values
(``formintake.samples.base_values``) plus overrides, so each row of the table below changes only what
it is about. Rows assert the exact multiset of codes this module's rules produce.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from formintake.config import load_campaign
from formintake.fields import BY_KEY
from formintake.models import Evidence, ExtractedForm, FieldValue
from formintake.samples.values import base_values, with_uscc_prefix, with_uscc_region
from formintake.validators.registry import RULES, RuleContext, make_finding, run_application_rules
from formintake.validators.uscc import check_uscc

OWN_CODES = {
    "FIELD_MISSING", "FIELD_PLACEHOLDER", "FIELD_INVALID_FORMAT", "USCC_INVALID",
    "APPLICANT_NOT_LEGAL_PERSON", "APPLICANT_NOT_PRC_REGISTERED", "PLATFORM_MAU_BELOW_100M",
    "PLATFORM_MAU_WRONG_YEAR", "PLATFORM_NO_SERVICE_SCOPE", "CENTER_AREA_BELOW_300",
    "CENTER_FUNCTIONS_INCOMPLETE", "CENTER_NO_TECH", "APPLICANT_NAME_MISMATCH", "USCC_REGION_MISMATCH",
    "NUMBER_INCONSISTENT", "DATE_INCONSISTENT", "DIRECTION_FIELDS_MISMATCH", "COMMITMENT_MISSING",
}


# ---- building forms -----------------------------------------------------------------------------------


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()  # the field is not in the form at all


@dataclass(frozen=True)
class PH:
    """A template hint left in the field (extractor state ``placeholder``)."""

    raw: str


@dataclass(frozen=True)
class BAD:
    """Text the extractor could not read as the field's type (state ``invalid``)."""

    raw: str
    error: str = "无法识别"


@dataclass(frozen=True)
class MISSING:
    """The extractor found the label but no value (state ``missing``)."""


def field_value(key: str, v: Any, i: int) -> FieldValue | None:
    ev = Evidence(method="docx-table", table=i // 40, row=i % 40, col=1, label=BY_KEY[key].labels[0] if key in BY_KEY else key)
    if v is ABSENT:
        return None
    if isinstance(v, PH):
        return FieldValue(key=key, raw=v.raw, state="placeholder", evidence=ev)
    if isinstance(v, BAD):
        return FieldValue(key=key, raw=v.raw, state="invalid", error=v.error, evidence=ev)
    if isinstance(v, MISSING):
        return FieldValue(key=key, state="missing", evidence=ev)
    raw = "、".join(v) if isinstance(v, list) else (None if v is None else str(v))
    return FieldValue(key=key, value=v, raw=raw, state="ok", evidence=ev)


def make_form(direction: str | None, seed: int = 1, values: dict[str, Any] | None = None, **overrides: Any) -> ExtractedForm:
    """A valid application of ``direction`` from base_values, with ``overrides`` applied."""
    vals = dict(values if values is not None else base_values(direction or "platform", seed))
    vals.update(overrides)
    fields = {}
    for i, (k, v) in enumerate(vals.items()):
        fv = field_value(k, v, i)
        if fv is not None:
            fields[k] = fv
    return ExtractedForm(source=f"{direction}-{seed}.docx", file_type="docx", direction=direction, fields=fields)


def ctx(campaign=None) -> RuleContext:
    return RuleContext(campaign=campaign or load_campaign("2023"))


def run_own_rules(form: ExtractedForm, campaign=None):
    """This module's rules only, in catalogue order (other engineers' rules are tested elsewhere)."""
    c = ctx(campaign)
    return [f for r in RULES.values() if r.code in OWN_CODES and r.func is not None for f in r.func(form, c)]


def own_findings(form: ExtractedForm, campaign=None):
    return [f for f in run_own_rules(form, campaign) if f.code in OWN_CODES]


def codes(form: ExtractedForm, campaign=None) -> Counter:
    return Counter(f.code for f in own_findings(form, campaign))


def _bv(direction, **kw):
    return base_values(direction, 1, **kw)


P, C = "platform", "experience_center"
BASE_P = _bv(P)
BASE_C = _bv(C)
NAME_P = BASE_P["applicant_name"]


def _all_names(name):
    return {"applicant_name": name, "applicant_name_cover": name, "applicant_name_commitment": name}


# ---- the table: (id, direction, overrides, expected codes) ----------------------------------------------

CASES: list[tuple[str, str | None, dict[str, Any], list[str]]] = [
    # baseline
    ("valid platform", P, {}, []),
    ("valid experience center", C, {}, []),
    # FIELD_MISSING
    ("required absent", P, {"applicant_name": ABSENT}, ["FIELD_MISSING"]),
    ("required empty string", P, {"contact_email": ""}, ["FIELD_MISSING"]),
    ("required state missing", C, {"area_sqm": MISSING()}, ["FIELD_MISSING"]),
    ("two required missing -> two findings", P, {"legal_representative": "", "founded_on": ABSENT}, ["FIELD_MISSING"] * 2),
    ("R* of own direction missing", P, {"platform_name": ABSENT}, ["FIELD_MISSING"]),
    ("R* of own direction missing (center)", C, {"center_city": ""}, ["FIELD_MISSING"]),
    ("optional absent is fine", P, {"office_address": ABSENT, "rnd_staff": ABSENT, "registered_users": ABSENT}, []),
    ("R* of other direction absent is fine", P, {"center_name": ABSENT}, []),
    ("tech_means empty on a center: FIELD_MISSING and CENTER_NO_TECH", C, {"tech_means": []}, ["FIELD_MISSING", "CENTER_NO_TECH"]),
    ("functions empty: FIELD_MISSING, not CENTER_FUNCTIONS_INCOMPLETE", C, {"functions": []}, ["FIELD_MISSING"]),
    # FIELD_PLACEHOLDER
    ("placeholder in required", P, {"project_name": PH("请填写项目名称")}, ["FIELD_PLACEHOLDER"]),
    ("placeholder in optional (info)", P, {"main_business": PH("XXX")}, ["FIELD_PLACEHOLDER"]),
    ("placeholder in other direction ignored", P, {"center_name": PH("（填写体验中心名称）")}, []),
    # FIELD_INVALID_FORMAT
    ("extractor could not read a number", P, {"employees": BAD("约两百人", "不是整数")}, ["FIELD_INVALID_FORMAT"]),
    ("extractor could not read an optional date", C, {"annual_visitors": BAD("很多")}, ["FIELD_INVALID_FORMAT"]),
    ("bad e-mail", P, {"contact_email": "zhangsan@"}, ["FIELD_INVALID_FORMAT"]),
    ("full-width e-mail folds", P, {"contact_email": "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ"}, []),
    ("bad phone", P, {"contact_phone": "12345"}, ["FIELD_INVALID_FORMAT"]),
    ("mobile with 12 digits", P, {"contact_phone": "138123456789"}, ["FIELD_INVALID_FORMAT"]),
    ("landline with extension", P, {"contact_phone": "010-68208201转123"}, []),
    ("landline without hyphen", P, {"contact_phone": "075586001234"}, []),
    ("landline with area code in brackets", P, {"contact_phone": "(0755)86001234"}, []),
    ("mobile with +86 and spaces", P, {"contact_phone": "+86 138 1234 5678"}, []),
    ("mobile and landline", P, {"contact_phone": "13812345678 / 010-68208201"}, []),
    # phones by libphonenumber's plan (docs/decisions.md "Phones and e-mails"): each change, both ways
    ("Beijing landline with 7 digits", P, {"contact_phone": "010-6820820"}, ["FIELD_INVALID_FORMAT"]),
    ("Xiamen landline with 7 digits", P, {"contact_phone": "0592-5123456"}, []),
    ("Xiamen landline with 8 digits", P, {"contact_phone": "0592-51234567"}, ["FIELD_INVALID_FORMAT"]),
    ("no such area code", P, {"contact_phone": "0123-4567890"}, ["FIELD_INVALID_FORMAT"]),
    ("unallocated mobile prefix 140", P, {"contact_phone": "14012345678"}, ["FIELD_INVALID_FORMAT"]),
    ("allocated mobile prefix 145", P, {"contact_phone": "14512345678"}, []),
    ("landline in international form", P, {"contact_phone": "+86 10 6820 8201"}, []),
    ("landline with a dash extension", P, {"contact_phone": "010-68208201-123"}, []),
    ("landline with 分机", P, {"contact_phone": "０１０－６８２０８２０１分机８"}, []),
    ("mobile with an extension", P, {"contact_phone": "13812345678转1"}, ["FIELD_INVALID_FORMAT"]),
    ("400 service number (not a mobile or landline)", P, {"contact_phone": "400-810-8888"}, ["FIELD_INVALID_FORMAT"]),
    ("Hong Kong number", P, {"contact_phone": "+852 2123 4567"}, ["FIELD_INVALID_FORMAT"]),
    ("0086 prefix", P, {"contact_phone": "0086 138 1234 5678"}, []),
    # e-mails by email-validator (syntax only)
    ("e-mail with two dots in a row", P, {"contact_email": "li..wei@163.com"}, ["FIELD_INVALID_FORMAT"]),
    ("e-mail with one dot", P, {"contact_email": "li.wei@163.com"}, []),
    ("e-mail domain label ending in a hyphen", P, {"contact_email": "liwei@abc-.com"}, ["FIELD_INVALID_FORMAT"]),
    ("e-mail domain label with a hyphen inside", P, {"contact_email": "liwei@abc-tech.com"}, []),
    ("e-mail on a special-use domain", P, {"contact_email": "liwei@mail.local"}, ["FIELD_INVALID_FORMAT"]),
    ("e-mail on an internationalised domain", P, {"contact_email": "liwei@例子.中国"}, []),
    ("e-mail with a Chinese local part", P, {"contact_email": "李伟@163.com"}, ["FIELD_INVALID_FORMAT"]),
    ("e-mail with an ideographic full stop", P, {"contact_email": "liwei@163。com"}, ["FIELD_INVALID_FORMAT"]),
    ("e-mail with ＠ and spaces folds", P, {"contact_email": " liwei ＠163.com "}, []),
    ("postcode 5 digits", P, {"postcode": "10084"}, ["FIELD_INVALID_FORMAT"]),
    ("postcode with leading 0", P, {"postcode": "010010"}, []),
    ("year two digits (not also MAU_WRONG_YEAR)", P, {"mau_year": 22}, ["FIELD_INVALID_FORMAT"]),
    ("impossible date", P, {"founded_on": "2015-02-30"}, ["FIELD_INVALID_FORMAT"]),
    ("negative count", P, {"employees": -5, "rnd_staff": ABSENT}, ["FIELD_INVALID_FORMAT"]),
    ("rank 0", C, {"recommend_rank": 0}, ["FIELD_INVALID_FORMAT"]),
    ("rank 1", C, {"recommend_rank": 1}, []),
    ("text in a number field", P, {"registered_capital_wan": "五千万"}, ["FIELD_INVALID_FORMAT"]),
    ("summary too short (warning)", P, {"summary": "平台简介。"}, ["FIELD_INVALID_FORMAT"]),
    ("summary too long (warning)", C, {"summary": "体验中心" * 260}, ["FIELD_INVALID_FORMAT"]),
    ("summary of exactly 50 chars", P, {"summary": "字" * 50}, []),
    ("unreadable USCC is USCC_INVALID only", P, {"uscc": BAD("91110000 6000")}, ["USCC_INVALID"]),
    # USCC_INVALID
    ("USCC wrong check char", P, {"uscc": BASE_P["uscc"][:17] + ("0" if BASE_P["uscc"][17] != "0" else "1")}, ["USCC_INVALID"]),
    ("USCC with O for 0", P, {"uscc": "91110000600037341L".replace("0", "O"), "registered_address": "北京市海淀区万寿路27号"}, ["USCC_INVALID"]),
    ("USCC full-width lower case", P, {"uscc": BASE_P["uscc"].lower().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})}, []),
    # APPLICANT_NOT_LEGAL_PERSON
    ("USCC type 92 个体工商户", P, {"uscc": with_uscc_prefix(BASE_P["uscc"], "92")}, ["APPLICANT_NOT_LEGAL_PERSON"]),
    ("USCC type 93 合作社 is a legal person", P, {"uscc": with_uscc_prefix(BASE_P["uscc"], "93")}, []),
    ("USCC type 12 事业单位", P, {"uscc": with_uscc_prefix(BASE_P["uscc"], "12")}, []),
    ("USCC type 61 代表机构", C, {"uscc": with_uscc_prefix(BASE_C["uscc"], "61")}, ["APPLICANT_NOT_LEGAL_PERSON"]),
    ("branch name 分公司", P, _all_names("华信网络科技有限公司成都分公司"), ["APPLICANT_NOT_LEGAL_PERSON"]),
    ("branch name 分行 (brackets)", P, _all_names("某某银行股份有限公司四川分行（盖章）"), ["APPLICANT_NOT_LEGAL_PERSON"]),
    ("branch name 营业部", C, _all_names("某证券股份有限公司南京中山路营业部"), ["APPLICANT_NOT_LEGAL_PERSON"]),
    ("company whose name contains 分中心", P, _all_names("成都数据分中心科技有限公司"), []),
    ("only the cover names a branch", P, {"applicant_name_cover": NAME_P + "北京分公司"},
     ["APPLICANT_NOT_LEGAL_PERSON", "APPLICANT_NAME_MISMATCH"]),
    # APPLICANT_NOT_PRC_REGISTERED
    ("address in Hong Kong", P, {"registered_address": "香港特别行政区湾仔区港湾道1号"}, ["APPLICANT_NOT_PRC_REGISTERED"]),
    ("address 中国香港", P, {"registered_address": "中国香港九龙尖沙咀广东道5号"}, ["APPLICANT_NOT_PRC_REGISTERED"]),
    ("address in Taiwan", C, {"registered_address": "台湾省台北市信义区市府路1号"}, ["APPLICANT_NOT_PRC_REGISTERED"]),
    ("address abroad (zh)", P, {"registered_address": "开曼群岛大开曼岛乔治城"}, ["APPLICANT_NOT_PRC_REGISTERED"]),
    ("address abroad (en)", P, {"registered_address": "Cricket Square, Grand Cayman, Cayman Islands"}, ["APPLICANT_NOT_PRC_REGISTERED"]),
    ("香港中路 in 青岛 is mainland", P, {"registered_address": "山东省青岛市市南区香港中路10号", "uscc": with_uscc_region(BASE_P["uscc"], "370200")}, []),
    ("中国（上海）自贸区 is mainland", P, {"registered_address": "中国（上海）自由贸易试验区张江路1号", "uscc": with_uscc_region(BASE_P["uscc"], "310115")}, []),
    ("USCC region 81 (香港)", P, {"uscc": with_uscc_region(BASE_P["uscc"], "810000")}, ["APPLICANT_NOT_PRC_REGISTERED"]),
    ("USCC region 100000 (national)", P, {"uscc": with_uscc_region(BASE_P["uscc"], "100000")}, []),
    # a real national-level code (清华大学 12100000…, region 100000, address in 北京): not abroad, no region mismatch
    ("national 事业单位 code, address in 北京", P, {"uscc": "12100000400000624D", "registered_address": "北京市海淀区清华园"}, []),
    ("national code 复旦大学, address in 上海", C, {"uscc": "1210000042500615X0", "registered_address": "上海市杨浦区邯郸路220号"}, []),
    # PLATFORM_MAU_BELOW_100M
    ("MAU just below 1亿", P, {"mau_prev_avg": 99_999_999}, ["PLATFORM_MAU_BELOW_100M"]),
    ("MAU exactly 1亿", P, {"mau_prev_avg": 100_000_000}, []),
    ("MAU unreadable: not also BELOW_100M", P, {"mau_prev_avg": BAD("过亿")}, ["FIELD_INVALID_FORMAT"]),
    ("MAU missing: not also BELOW_100M", P, {"mau_prev_avg": ABSENT}, ["FIELD_MISSING"]),
    # PLATFORM_MAU_WRONG_YEAR
    ("MAU year 2021", P, {"mau_year": 2021}, ["PLATFORM_MAU_WRONG_YEAR"]),
    ("MAU year 2023 (the campaign year)", P, {"mau_year": 2023}, ["PLATFORM_MAU_WRONG_YEAR"]),
    ("MAU year 2022", P, {"mau_year": 2022}, []),
    # PLATFORM_NO_SERVICE_SCOPE (owns an empty / unticked 服务领域)
    ("no service scope ticked", P, {"service_scopes": []}, ["PLATFORM_NO_SERVICE_SCOPE"]),
    ("service scopes absent", P, {"service_scopes": ABSENT}, ["PLATFORM_NO_SERVICE_SCOPE"]),
    ("service scopes unticked group (placeholder)", P, {"service_scopes": PH("☐网络销售 ☐生活服务")}, ["PLATFORM_NO_SERVICE_SCOPE"]),
    ("service scope outside the six", P, {"service_scopes": ["其他"]}, ["PLATFORM_NO_SERVICE_SCOPE"]),
    ("one scope", P, {"service_scopes": ["乡村振兴"]}, []),
    # CENTER_AREA_BELOW_300
    ("area 299.5", C, {"area_sqm": 299.5}, ["CENTER_AREA_BELOW_300"]),
    ("area 300", C, {"area_sqm": 300.0}, []),
    ("area on a platform form is the other direction's", P, {"area_sqm": 120.0}, ["DIRECTION_FIELDS_MISMATCH"]),
    # CENTER_FUNCTIONS_INCOMPLETE
    ("two functions", C, {"functions": ["展示", "体验"]}, ["CENTER_FUNCTIONS_INCOMPLETE"]),
    ("four functions, other order", C, {"functions": ["培训", "销售", "体验", "展示"]}, []),
    # CENTER_NO_TECH
    ("only 其他", C, {"tech_means": ["其他"]}, ["CENTER_NO_TECH"]),
    ("one concrete means", C, {"tech_means": ["大数据"]}, []),
    ("only 其他 on a platform is not a center rule", P, {"tech_means": ["其他"]}, []),
    # APPLICANT_NAME_MISMATCH
    ("cover names another company", P, {"applicant_name_cover": "成都某某网络有限公司"}, ["APPLICANT_NAME_MISMATCH"]),
    ("commitment names another company", C, {"applicant_name_commitment": "另一家科技有限公司"}, ["APPLICANT_NAME_MISMATCH"]),
    ("cover and commitment both differ", P, {"applicant_name_cover": "甲公司", "applicant_name_commitment": "乙公司"}, ["APPLICANT_NAME_MISMATCH"] * 2),
    ("spaces and full-width forms", P, {"applicant_name_cover": " ".join(NAME_P)}, []),
    ("brackets", P, {**_all_names("华润（集团）有限公司"), "applicant_name_cover": "华润集团有限公司"}, []),
    ("half-width vs full-width brackets", P, {**_all_names("某某(中国)科技有限公司"), "applicant_name_commitment": "某某（中国）科技有限公司"}, []),
    ("（盖章） left after the name", P, {"applicant_name_cover": NAME_P + "（盖章）"}, []),
    ("commitment name not written out", P, {"applicant_name_commitment": ABSENT}, []),
    # USCC_REGION_MISMATCH
    ("USCC region 44 vs address in 四川", P, {"uscc": with_uscc_region(BASE_P["uscc"], "440300")}, ["USCC_REGION_MISMATCH"]),
    ("address without a province", P, {"uscc": with_uscc_region(BASE_P["uscc"], "440300"), "registered_address": "高新区科技大道181号"}, []),
    ("invalid USCC: region not compared", P, {"uscc": with_uscc_region(BASE_P["uscc"], "440300")[:17] + "Z"}, ["USCC_INVALID"]),
    # NUMBER_INCONSISTENT
    ("rnd_staff > employees", P, {"employees": 100, "rnd_staff": 101}, ["NUMBER_INCONSISTENT"]),
    ("rnd_staff == employees", P, {"employees": 100, "rnd_staff": 100}, []),
    ("invested > total", C, {"total_investment_wan": 1000.0, "invested_wan": 1000.5}, ["NUMBER_INCONSISTENT"]),
    ("mau > registered users", P, {"mau_prev_avg": 300_000_000, "registered_users": 200_000_000}, ["NUMBER_INCONSISTENT"]),
    ("all three pairs", P, {"employees": 1, "rnd_staff": 2, "total_investment_wan": 1.0, "invested_wan": 2.0,
                            "mau_prev_avg": 300_000_000, "registered_users": 1}, ["NUMBER_INCONSISTENT"] * 3),
    ("a whole missing: nothing to compare", P, {"total_investment_wan": ABSENT, "invested_wan": 99999.0}, []),
    # DATE_INCONSISTENT
    ("apply_date before the notice", P, {"apply_date": "2023-07-25", "commitment_date": "2023-07-26"}, ["DATE_INCONSISTENT"]),
    ("apply_date on the notice date", P, {"apply_date": "2023-07-26", "commitment_date": "2023-07-26"}, []),
    ("commitment and recommender dates before the notice", C, {"commitment_date": "2023-06-30", "recommender_date": "2022-08-10"}, ["DATE_INCONSISTENT"] * 2),
    ("founded after apply_date", P, {"founded_on": "2023-12-01"}, ["DATE_INCONSISTENT"]),
    ("opened after apply_date", C, {"opened_on": "2023-10-01"}, ["DATE_INCONSISTENT"]),
    ("start after apply_date", C, {"start_date": "2024-01-01"}, ["DATE_INCONSISTENT"]),
    ("apply_date missing: only FIELD_MISSING", P, {"apply_date": ABSENT, "founded_on": "2023-12-01"}, ["FIELD_MISSING"]),
    # DIRECTION_FIELDS_MISMATCH
    ("center fields on a platform form", P, {"center_name": "某体验店", "functions": ["展示"]}, ["DIRECTION_FIELDS_MISMATCH"]),
    ("platform fields on a center form", C, {"platform_name": "某APP", "mau_prev_avg": 50_000_000}, ["DIRECTION_FIELDS_MISMATCH"]),
    ("other direction's empty cells", C, {"platform_name": "", "service_scopes": []}, []),
    # COMMITMENT_MISSING (owns commitment_signatory / commitment_date: no FIELD_MISSING for them)
    ("no signatory", P, {"commitment_signatory": ABSENT}, ["COMMITMENT_MISSING"]),
    ("no date", C, {"commitment_date": ""}, ["COMMITMENT_MISSING"]),
    ("date left as 年 月 日", P, {"commitment_date": PH("年 月 日")}, ["COMMITMENT_MISSING"]),
    ("neither", C, {"commitment_signatory": MISSING(), "commitment_date": ABSENT}, ["COMMITMENT_MISSING"] * 2),
    ("unreadable commitment date is a format problem", P, {"commitment_date": BAD("2023年13月")}, ["FIELD_INVALID_FORMAT"]),
]


@pytest.mark.parametrize("name, direction, overrides, expected", CASES, ids=[c[0] for c in CASES])
def test_rule_table(name, direction, overrides, expected):
    form = make_form(direction, **overrides)
    assert codes(form) == Counter(expected)


def test_every_code_has_a_triggering_and_a_clean_case():
    triggered = {c for _, _, _, exp in CASES for c in exp}
    assert triggered == OWN_CODES
    assert any(not exp for _, _, _, exp in CASES)
    assert OWN_CODES <= set(RULES)
    assert all(RULES[c].scope == "application" and RULES[c].func is not None for c in OWN_CODES)


def test_registered_rules_run_through_the_registry():
    form = make_form(P, mau_year=2021, employees=1, rnd_staff=2)
    got = Counter(f.code for f in run_application_rules(form, ctx()) if f.code in OWN_CODES)
    assert got == Counter(["PLATFORM_MAU_WRONG_YEAR", "NUMBER_INCONSISTENT"])


@pytest.mark.parametrize("direction", [P, C])
@pytest.mark.parametrize("seed", range(40))
def test_valid_samples_are_clean(direction, seed):
    form = make_form(direction, seed)
    assert own_findings(form) == []


# ---- severities, fields, messages ----------------------------------------------------------------------

SEVERITY = [
    ("placeholder in required", "error"),
    ("placeholder in optional (info)", "info"),
    ("summary too short (warning)", "warning"),
    ("bad e-mail", "error"),
    ("area 299.5", "warning"),
    ("two functions", "warning"),
    ("only 其他", "warning"),
    ("USCC region 44 vs address in 四川", "warning"),
    ("center fields on a platform form", "warning"),
    ("no signatory", "error"),
    ("MAU just below 1亿", "error"),
]
_BY_NAME = {c[0]: c for c in CASES}


@pytest.mark.parametrize("case, severity", SEVERITY)
def test_severity(case, severity):
    _, direction, overrides, _ = _BY_NAME[case]
    [f] = own_findings(make_form(direction, **overrides))
    assert f.severity == severity


@pytest.mark.parametrize("name, direction, overrides, expected", [c for c in CASES if c[3]], ids=[c[0] for c in CASES if c[3]])
def test_findings_are_complete(name, direction, overrides, expected):
    """Every finding carries a Chinese message, expected and hint, and the field's evidence."""
    form = make_form(direction, **overrides)
    for f in own_findings(form):
        assert f.message and f.expected and f.hint, f
        assert any("\u4e00" <= ch <= "\u9fff" for ch in f.message + f.expected + f.hint)
        if f.field:
            assert f.field in BY_KEY
            assert f.evidence == form.evidence(f.field)
        assert f.clause == RULES[f.code].clause_for(load_campaign("2023"))


def test_field_missing_names_each_field():
    form = make_form(P, legal_representative="", founded_on=ABSENT)
    assert sorted(f.field for f in own_findings(form)) == ["founded_on", "legal_representative"]


def test_functions_incomplete_lists_the_missing_ones():
    [f] = own_findings(make_form(C, functions=["展示", "体验"]))
    assert "销售、培训" in f.message and "展示" not in f.message.split("：")[1].split("（")[0]


def test_number_inconsistent_one_per_pair_on_the_part():
    form = make_form(P, employees=1, rnd_staff=2, total_investment_wan=1.0, invested_wan=2.0,
                     mau_prev_avg=300_000_000, registered_users=1)
    assert sorted(f.field for f in own_findings(form)) == ["invested_wan", "mau_prev_avg", "rnd_staff"]


def test_name_mismatch_points_at_the_differing_name():
    [f] = own_findings(make_form(C, applicant_name_commitment="另一家科技有限公司"))
    assert (f.field, f.value) == ("applicant_name_commitment", "另一家科技有限公司")
    assert BASE_C["applicant_name"] in f.expected


def test_o_zero_hint_in_rule_output():
    [f] = own_findings(make_form(P, uscc="91110000600037341L".replace("0", "O"), registered_address="北京市海淀区万寿路27号"))
    assert "O" in f.message and "91110000600037341L" in f.hint


def test_direction_mismatch_lists_the_fields():
    [f] = own_findings(make_form(P, center_name="某体验店", functions=["展示"]))
    assert "体验中心名称" in f.message and set(f.value) == {"center_name", "functions"}


# ---- the campaign configuration decides thresholds and dates -------------------------------------------


def test_thresholds_come_from_the_campaign():
    camp = load_campaign("2023")
    stricter = camp.model_copy(update={
        "thresholds": camp.thresholds.model_copy(update={"mau_min": 500_000_000, "area_min_sqm": 2000, "summary_min_chars": 10}),
    })
    form_p = make_form(P, mau_prev_avg=400_000_000, registered_users=900_000_000)
    form_c = make_form(C, area_sqm=1500.0)
    assert codes(form_p) == Counter() and codes(form_c) == Counter()
    assert codes(form_p, stricter) == Counter(["PLATFORM_MAU_BELOW_100M"])
    assert codes(form_c, stricter) == Counter(["CENTER_AREA_BELOW_300"])


def test_dates_and_year_come_from_the_campaign():
    import datetime as dt

    camp = load_campaign("2023")
    next_round = camp.model_copy(update={"campaign_year": 2024, "notice_date": dt.date(2024, 7, 1)})
    form = make_form(P)  # a 2023 application with MAU of 2022
    assert codes(form, next_round) == Counter({"PLATFORM_MAU_WRONG_YEAR": 1, "DATE_INCONSISTENT": 3})


# ---- robustness: rules never crash, only check what is there ------------------------------------------


def test_empty_form_only_reports_missing():
    form = ExtractedForm(source="empty.docx", file_type="docx", direction=P)
    got = codes(form)
    from formintake.fields import required_for

    n_required = len([f for f in required_for(P) if f.key not in ("direction", "commitment_signatory", "commitment_date", "service_scopes")])
    assert got == Counter({"FIELD_MISSING": n_required, "COMMITMENT_MISSING": 2, "PLATFORM_NO_SERVICE_SCOPE": 1})


def test_no_direction_runs_only_common_rules():
    vals = {k: v for k, v in BASE_P.items() if k != "direction"}
    form = make_form(None, values=vals, mau_prev_avg=1, mau_year=1999, area_sqm=1.0)
    # direction unknown: no direction-specific rule; direction itself is missing (no intake finding said so)
    assert [(f.code, f.field) for f in own_findings(form)] == [("FIELD_MISSING", "direction")]
    form.intake_findings.append(make_finding("FORM_DIRECTION_AMBIGUOUS", message="无法确定申报方向"))
    assert codes(form) == Counter()  # the intake said so already


@pytest.mark.parametrize("junk", [None, "", "abc", [], ["x"], {"a": 1}, -1, 0, 1e308, float("nan"), True, "2023-13-45", "   "])
@pytest.mark.parametrize("direction", [P, C])
def test_rules_do_not_crash_on_junk(direction, junk):
    vals = {k: junk for k in BY_KEY}
    form = make_form(direction, values=vals)
    run_own_rules(form)  # must not raise
    for v in (PH(str(junk)), BAD(str(junk)), MISSING()):
        run_own_rules(make_form(direction, values={k: v for k in BY_KEY}))


def test_uscc_samples_are_valid():
    for seed in range(40):
        for d in (P, C):
            assert check_uscc(base_values(d, seed)["uscc"]).valid
