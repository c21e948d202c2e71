"""Eligibility (三（一）, 二（一）, 二（二）): who may apply, and each direction's thresholds.

Thresholds and the campaign year come from the campaign configuration (``ctx.campaign``). A rule only
checks values that are there: a missing value is FIELD_MISSING's, an unreadable one
FIELD_INVALID_FORMAT's (or USCC_INVALID's). Direction-specific rules run only for their direction.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator

from formintake.fields import CENTER_FUNCTIONS, SERVICE_SCOPES
from formintake.models import ExtractedForm, Finding
from formintake.validators.completeness import YEAR_MAX, YEAR_MIN, as_number, filled, is_absent
from formintake.validators.registry import RuleContext, rule
from formintake.text import fold, name_key, province_of, strip_seal
from formintake.validators.uscc import CATEGORIES, NON_LEGAL_PERSON_CATEGORIES, is_prc_region, valid_uscc_of

# 三（一） 具备独立法人资格: a branch is not a legal person. Matched at the end of the name (after the
# last marker nothing that makes it a company of its own, e.g. 北京分中心科技有限公司 is a company).
BRANCH_MARKERS = ("分公司", "分行", "分厂", "办事处", "营业部", "分中心", "分院")
ENTITY_SUFFIXES = ("有限公司", "有限责任公司", "股份公司", "集团", "合作社", "研究院", "事务所", "协会", "基金会")

# 三（一） 在中华人民共和国境内注册: places outside mainland China an address may start with
NON_MAINLAND_ZH = (
    "香港", "澳门", "澳門", "台湾", "臺灣", "台北", "高雄",
    "美国", "英国", "日本", "韩国", "朝鲜", "新加坡", "马来西亚", "泰国", "越南", "印度尼西亚", "印度",
    "菲律宾", "德国", "法国", "意大利", "西班牙", "荷兰", "比利时", "卢森堡", "瑞士", "瑞典", "挪威",
    "丹麦", "芬兰", "爱尔兰", "奥地利", "俄罗斯", "加拿大", "澳大利亚", "新西兰", "巴西", "墨西哥",
    "以色列", "阿联酋", "阿拉伯联合酋长国", "沙特阿拉伯", "开曼", "英属维尔京群岛", "维尔京群岛", "百慕大",
)
NON_MAINLAND_EN = re.compile(
    r"\b(hong\s*kong|hk\s*sar|macau|macao|taiwan|taipei|singapore|cayman|british\s+virgin|bvi|bermuda|"
    r"usa|u\.s\.a|united\s+states|united\s+kingdom|japan|korea|germany|france|canada|australia|"
    r"netherlands|switzerland|luxembourg|ireland|delaware|california)\b",
    re.IGNORECASE,
)
_PRC_PREFIX = re.compile(r"^(?:中华人民共和国|中国)")


def _strip_prc(text: str | None) -> str:
    """Folded address without a leading 中国 / 中华人民共和国 and brackets around what follows."""
    t = _PRC_PREFIX.sub("", fold(text))
    return re.sub(r"^\(([^)]*)\)", r"\1", t)


def non_mainland_place(address: str | None) -> str | None:
    """The place outside mainland China an address names (香港, 美国, Singapore…), else None.

    Only the start of a Chinese address counts (青岛市市南区香港中路 is in 山东); a Latin-script address
    is searched for the names of foreign places.
    """
    t = _strip_prc(address)
    if not t:
        return None
    for p in NON_MAINLAND_ZH:
        if t.startswith(p):
            return p
    if not re.search(r"[\u4e00-\u9fff]", t):
        m = NON_MAINLAND_EN.search(unicodedata.normalize("NFKC", address or ""))
        if m:
            return m.group(0)
    return None


def address_province(address: str | None) -> str | None:
    """Province-level region an address starts with, tolerating a leading 中国 / 中国（上海）…"""
    return province_of(_strip_prc(address)) or province_of(address)


def branch_marker(name: str | None) -> str | None:
    """The branch word (分公司, 分行, …) that makes a name a branch, else None."""
    k = name_key(name)
    k = strip_seal(k)
    best: tuple[int, str] | None = None
    for m in BRANCH_MARKERS:
        i = k.rfind(m)
        if i >= 0 and (best is None or i > best[0]):
            best = (i, m)
    if best is None:
        return None
    tail = k[best[0] + len(best[1]):]
    if any(s in tail for s in ENTITY_SUFFIXES):
        return None
    return best[1]


# ---- 三（一） ---------------------------------------------------------------------------------------


@rule("APPLICANT_NOT_LEGAL_PERSON")
def check_legal_person(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """The USCC type code of a non-legal person (uscc.CATEGORIES, e.g. 92 个体工商户), or a branch name."""
    code = valid_uscc_of(form)
    if code and code[:2] in NON_LEGAL_PERSON_CATEGORIES:
        kind = CATEGORIES[code[:2]][0]
        yield ctx.finding(
            "APPLICANT_NOT_LEGAL_PERSON",
            field="uscc",
            value=code,
            expected=ctx.text("APPLICANT_NOT_LEGAL_PERSON", "uscc.expected"),
            message=ctx.text("APPLICANT_NOT_LEGAL_PERSON", "uscc.message", type_code=code[:2], kind=kind),
            hint=ctx.text("APPLICANT_NOT_LEGAL_PERSON", "uscc.hint"),
            evidence=form.evidence("uscc"),
        )
    for key in ("applicant_name", "applicant_name_cover", "applicant_name_commitment"):
        name = filled(form, key)
        marker = branch_marker(name) if isinstance(name, str) else None
        if marker:
            yield ctx.finding(
                "APPLICANT_NOT_LEGAL_PERSON",
                field=key,
                value=name,
                expected=ctx.text("APPLICANT_NOT_LEGAL_PERSON", "branch.expected"),
                message=ctx.text("APPLICANT_NOT_LEGAL_PERSON", "branch.message", name=name, marker=marker),
                hint=ctx.text("APPLICANT_NOT_LEGAL_PERSON", "branch.hint"),
                evidence=form.evidence(key),
            )
            break  # one branch finding per application; APPLICANT_NAME_MISMATCH covers disagreeing names


@rule("APPLICANT_NOT_PRC_REGISTERED")
def check_prc_registered(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """Registered address outside mainland China (港澳台, abroad), or a USCC region code that is not a
    PRC province-level division (10 = a national authority is accepted). Unknown addresses pass."""
    addr = filled(form, "registered_address")
    place = non_mainland_place(addr) if isinstance(addr, str) else None
    if place:
        yield ctx.finding(
            "APPLICANT_NOT_PRC_REGISTERED",
            field="registered_address",
            value=addr,
            expected=ctx.text("APPLICANT_NOT_PRC_REGISTERED", "address.expected"),
            message=ctx.text("APPLICANT_NOT_PRC_REGISTERED", "address.message", address=addr, place=place),
            hint=ctx.text("APPLICANT_NOT_PRC_REGISTERED", "address.hint"),
            evidence=form.evidence("registered_address"),
        )
    code = valid_uscc_of(form)
    if code and not is_prc_region(code):
        yield ctx.finding(
            "APPLICANT_NOT_PRC_REGISTERED",
            field="uscc",
            value=code,
            expected=ctx.text("APPLICANT_NOT_PRC_REGISTERED", "uscc.expected"),
            message=ctx.text("APPLICANT_NOT_PRC_REGISTERED", "uscc.message", region=code[2:8]),
            hint=ctx.text("APPLICANT_NOT_PRC_REGISTERED", "uscc.hint"),
            evidence=form.evidence("uscc"),
        )


# ---- 二（一） 用户过亿信息消费大平台 ------------------------------------------------------------------------


def _persons(n: float) -> str:
    """``99,999,999人（约0.99亿）``: rounded down, so a figure below the threshold never reads as 1亿."""
    n = int(n)
    return f"{n:,}人（约{math.floor(n / 1e6) / 100:g}亿）" if n >= 1e7 else f"{n:,}人"


@rule("PLATFORM_MAU_BELOW_100M")
def check_mau(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    if form.direction != "platform":
        return
    mau = as_number(filled(form, "mau_prev_avg"))
    need = ctx.campaign.thresholds.mau_min
    if mau is None or mau < 0 or mau >= need:
        return
    yield ctx.finding(
        "PLATFORM_MAU_BELOW_100M",
        field="mau_prev_avg",
        value=int(mau),
        expected=ctx.text("PLATFORM_MAU_BELOW_100M", "expected", need=_persons(need)),
        message=ctx.text("PLATFORM_MAU_BELOW_100M", "message", mau=_persons(mau), need=_persons(need)),
        hint=ctx.text("PLATFORM_MAU_BELOW_100M", "hint"),
        evidence=form.evidence("mau_prev_avg"),
    )


@rule("PLATFORM_MAU_WRONG_YEAR")
def check_mau_year(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    if form.direction != "platform":
        return
    year = as_number(filled(form, "mau_year"))
    want = ctx.campaign.campaign_year - 1
    if year is None or year != int(year) or not YEAR_MIN <= year <= YEAR_MAX or int(year) == want:
        return  # an implausible year is FIELD_INVALID_FORMAT's
    yield ctx.finding(
        "PLATFORM_MAU_WRONG_YEAR",
        field="mau_year",
        value=int(year),
        expected=ctx.text("PLATFORM_MAU_WRONG_YEAR", "expected", want=want),
        message=ctx.text("PLATFORM_MAU_WRONG_YEAR", "message", year=int(year), want=want),
        hint=ctx.text("PLATFORM_MAU_WRONG_YEAR", "hint", want=want),
        evidence=form.evidence("mau_year"),
    )


@rule("PLATFORM_NO_SERVICE_SCOPE")
def check_service_scope(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """No scope among the six chosen. Also reports an empty / placeholder 服务领域 (FIELD_MISSING and
    FIELD_PLACEHOLDER leave this field to this rule)."""
    if form.direction != "platform":
        return
    fv = form.fields.get("service_scopes")
    if fv is not None and fv.state == "invalid":
        return  # FIELD_INVALID_FORMAT
    chosen: list[str] = []
    if not is_absent(fv) and fv.state == "ok":
        val = fv.value if isinstance(fv.value, (list, tuple, set)) else [fv.value]
        options = {fold(o) for o in SERVICE_SCOPES}
        chosen = [str(v) for v in val if fold(str(v)) in options]
    if chosen:
        return
    found = None if fv is None else (fv.value if fv.state == "ok" else fv.raw)
    yield ctx.finding(
        "PLATFORM_NO_SERVICE_SCOPE",
        field="service_scopes",
        value=found,
        expected=ctx.text("PLATFORM_NO_SERVICE_SCOPE", "expected", scopes="、".join(SERVICE_SCOPES)),
        message=ctx.text("PLATFORM_NO_SERVICE_SCOPE", "message", scopes="、".join(SERVICE_SCOPES)),
        hint=ctx.text("PLATFORM_NO_SERVICE_SCOPE", "hint"),
        evidence=form.evidence("service_scopes"),
    )


# ---- 二（二） 信息消费体验中心 -----------------------------------------------------------------------------


@rule("CENTER_AREA_BELOW_300")
def check_area(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    if form.direction != "experience_center":
        return
    area = as_number(filled(form, "area_sqm"))
    need = ctx.campaign.thresholds.area_min_sqm
    if area is None or area < 0 or area >= need:
        return
    yield ctx.finding(
        "CENTER_AREA_BELOW_300",
        field="area_sqm",
        value=area,
        expected=ctx.text("CENTER_AREA_BELOW_300", "expected"),
        message=ctx.text("CENTER_AREA_BELOW_300", "message", area=area),
        hint=ctx.text("CENTER_AREA_BELOW_300", "hint"),
        evidence=form.evidence("area_sqm"),
    )


def _chosen(form: ExtractedForm, key: str) -> list[str] | None:
    v = filled(form, key)
    if v is None:
        return None  # missing / placeholder / invalid: other codes
    return [str(x) for x in v] if isinstance(v, (list, tuple, set)) else [str(v)]


@rule("CENTER_FUNCTIONS_INCOMPLETE")
def check_functions(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """Some of 展示/体验/销售/培训 not chosen. Nothing chosen at all is FIELD_MISSING (an error)."""
    if form.direction != "experience_center":
        return
    chosen = _chosen(form, "functions")
    if not chosen:
        return
    have = {fold(c) for c in chosen}
    lacking = [f for f in CENTER_FUNCTIONS if fold(f) not in have]
    if not lacking:
        return
    yield ctx.finding(
        "CENTER_FUNCTIONS_INCOMPLETE",
        field="functions",
        value=chosen,
        expected=ctx.text("CENTER_FUNCTIONS_INCOMPLETE", "expected"),
        message=ctx.text("CENTER_FUNCTIONS_INCOMPLETE", "message", lacking="、".join(lacking)),
        hint=ctx.text("CENTER_FUNCTIONS_INCOMPLETE", "hint", lacking="、".join(lacking)),
        evidence=form.evidence("functions"),
    )


@rule("CENTER_NO_TECH")
def check_center_tech(form: ExtractedForm, ctx: RuleContext) -> Iterator[Finding]:
    """No specific technical means chosen (none at all, or only 其他). rules.md: "no technical means
    chosen" — an empty group is also FIELD_MISSING / FIELD_PLACEHOLDER (the form is incomplete); this
    warning says what it means for eligibility under 二（二）."""
    if form.direction != "experience_center":
        return
    chosen = _chosen(form, "tech_means") or []
    if any(not fold(c).startswith("其他") for c in chosen):
        return
    yield ctx.finding(
        "CENTER_NO_TECH",
        field="tech_means",
        value=chosen or None,
        expected=ctx.text("CENTER_NO_TECH", "expected"),
        message=ctx.text("CENTER_NO_TECH", "other_only.message" if chosen else "none.message"),
        hint=ctx.text("CENTER_NO_TECH", "hint"),
        evidence=form.evidence("tech_means"),
    )
