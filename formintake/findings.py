"""The finding catalogue: every finding code, its severity, scope, Chinese title and notice clause.

Core data next to :mod:`formintake.models` and :mod:`formintake.fields`: extractors raise intake codes
from here (:func:`make_finding`) without importing the rules; ``validators`` attach a rule function to
a code (``@rule("CODE")``); status, waivers and reports read severities and titles from here.

Titles and clauses that quote the notice's numbers are templates filled from the campaign
(:meth:`Rule.title_for`, :meth:`Rule.clause_for`, :func:`campaign_terms`), so a campaign file with
other numbers gets correct titles without a code change.

Scopes: ``intake`` (raised while reading a file; an intake error makes the record ``unreadable``),
``application`` (one form), ``batch`` (across a campaign's applications).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from formintake.models import Finding, Severity

if TYPE_CHECKING:  # a type only: the catalogue does not need the configuration loader
    from formintake.config import Campaign

Scope = Literal["intake", "application", "batch"]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    scope: Scope
    clause: str | None  # template, see campaign_terms
    title: str  # Chinese title for reports; template, see campaign_terms
    func: Callable[..., Iterable[Any]] | None = None  # the rule function (validators), None for intake codes
    # the texts a finding of this code carries (message, hint), by name: templates filled with the
    # campaign's terms (campaign_terms) and the values the rule found (:meth:`text`)
    texts: Mapping[str, str] = field(default_factory=dict)

    def title_for(self, campaign: Campaign | None) -> str:
        return fill(self.title, campaign)

    def text(self, which: str, campaign: Campaign | None, /, **values: Any) -> str:
        """The ``which`` template of this code filled from the campaign and ``values`` (KeyError: no such
        text, or a template naming a value not given: it fails loudly, never renders a brace)."""
        terms = campaign_terms(campaign) if campaign is not None else {}
        return self.texts[which].format(**{**terms, **values})

    def clause_for(self, campaign: Campaign | None) -> str | None:
        return fill(self.clause, campaign) if self.clause is not None else None


def zh_count(n: float) -> str:
    """``100000000`` -> ``1亿``, ``50000`` -> ``5万``, else the number."""
    n = float(n)
    for unit, size in (("亿", 1e8), ("万", 1e4)):
        if n >= size and math.isclose(n / size, round(n / size, 2)):
            return f"{n / size:g}{unit}"
    return f"{n:g}"


def zh_date(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def campaign_terms(campaign: Campaign) -> dict[str, str]:
    """The values templates may name: ``{area_min}``, ``{mau_min}``, ``{deadline}``, ``{tz}``, quotas."""
    t, q = campaign.thresholds, campaign.quotas
    return {
        "area_min": f"{t.area_min_sqm:g}",
        "mau_min": zh_count(t.mau_min),
        "deadline": zh_date(campaign.deadline),
        "tz": campaign.timezone_zh,
        "center_per_unit": str(q.center_per_unit),
        "center_extra_per_demo_city": str(q.center_extra_per_demo_city),
    }


def fill(template: str | None, campaign: Campaign | None) -> str:
    """A template filled from the campaign; without a campaign, the template as written."""
    if template is None:
        return ""
    if campaign is None or "{" not in template:
        return template
    return template.format(**campaign_terms(campaign))


def _catalogue(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


_E, _W, _I = "error", "warning", "info"
_CLAUSE_3 = "三"

# rules.md, in its order. Codes are a contract: add, never rename.
RULES: dict[str, Rule] = _catalogue(
    # Intake: the file itself (raised by extractors)
    Rule("FILE_CORRUPT", _E, "intake", None, "文件损坏或无法打开"),
    Rule("FILE_ENCRYPTED", _E, "intake", None, "文件加密，无法读取"),
    Rule("FILE_TOO_LARGE", _E, "intake", None, "文件超过大小限制"),
    Rule("FILE_UNSUPPORTED_TYPE", _E, "intake", None, "文件类型不受支持（仅接受docx、PDF或JPEG/PNG/TIFF扫描图片）"),
    Rule("FILE_TYPE_MISMATCH", _W, "intake", None, "文件扩展名与实际内容不符"),
    Rule("FILE_NO_TEXT", _E, "intake", None, "无文字层（扫描件）且OCR未识别出文字"),
    Rule("FILE_OCR_USED", _W, "intake", None, "数值来自OCR识别，请与原件核对"),
    Rule("FILE_TIMEOUT", _E, "intake", None, "文件处理超时"),
    Rule("FILE_CONVERTED", _I, "intake", None, "旧版.doc/.wps/.rtf文件已转换为docx后读取"),
    Rule("FORM_UNRECOGNIZED", _E, "intake", None, "不是本次申报书模板"),
    Rule("FORM_DIRECTION_AMBIGUOUS", _E, "intake", None, "无法确定申报方向或方向前后不一致"),
    Rule("FILE_NAME_ENCODING", _I, "intake", None, "文件名不是UTF-8编码，已按GBK/GB18030解码"),
    # not in rules.md: a listed name no request can reach (control characters a server lists as U+FFFD
    # with the real name gone, or a "."/".." path segment): the name's fault, not ours, so not retried
    Rule("FILE_NAME_UNREADABLE", _E, "intake", None, "文件名无法用于读取（控制字符或“..”路径段），未读取"),
    Rule("FILE_NOT_REGULAR", _E, "intake", None, "不是普通文件（指向上传目录之外的链接、失效链接、设备或管道），未读取"),
    # our own failure, not the applicant's: logged with its traceback, never waivable, retried on the next run
    Rule("INTERNAL_ERROR", _E, "intake", None, "系统处理出错（非申报单位原因），将在下次运行时重试"),
    Rule("FILE_TABLES_SKIPPED", _W, "intake", None, "页面线条或文字过多，未识别表格结构，已按纯文字读取"),
    Rule("FILE_CONTENT_SKIPPED", _W, "intake", None, "docx中以其他格式嵌入的内容（altChunk，如RTF）未能读取"),
    Rule("STAMP_MISSING", _W, "intake", None, "扫描件的盖章处未见红色公章"),
    # One application
    Rule("FIELD_MISSING", _E, "application", _CLAUSE_3, "必填项缺失"),
    Rule("FIELD_PLACEHOLDER", _E, "application", _CLAUSE_3, "保留了模板提示文字"),
    Rule("FIELD_INVALID_FORMAT", _E, "application", _CLAUSE_3, "填写内容格式不正确"),
    Rule("USCC_INVALID", _E, "application", "三", "统一社会信用代码不符合GB 32100-2015"),
    Rule("APPLICANT_NOT_LEGAL_PERSON", _E, "application", "三（一） 具备独立法人资格", "申报单位不具备独立法人资格", texts={
        "uscc.message": "统一社会信用代码第1–2位为“{type_code}”（{kind}），该类主体不具备独立法人资格。",
        "uscc.hint": "申报主体须为具备独立法人资格的单位，请由具备法人资格的单位申报，或核对统一社会信用代码。",
        "branch.message": "申报单位“{name}”名称含“{marker}”，属于分支机构，不具备独立法人资格。",
        "branch.hint": "请由具备独立法人资格的总公司（法人单位）作为申报主体申报。"}),
    Rule("APPLICANT_NOT_PRC_REGISTERED", _E, "application", "三（一） 在中华人民共和国境内注册",
         "申报单位不在中华人民共和国境内注册", texts={
        "address.message": "注册地址“{address}”位于{place}，不属于中华人民共和国境内（内地）注册。",
        "address.hint": "申报主体须在中华人民共和国境内注册，请核对注册地址，或由境内注册的法人单位申报。",
        "uscc.message": "统一社会信用代码第3–8位“{region}”不是中华人民共和国境内的行政区划代码。",
        "uscc.hint": "请核对统一社会信用代码是否与营业执照一致。"}),
    Rule("PLATFORM_MAU_BELOW_100M", _E, "application", "二（一） 月活不低于{mau_min}", "上一年度平均月活用户数低于{mau_min}", texts={
        "message": "上一年度平均月活用户数为{mau}，低于通知要求的{need}。",
        "hint": "请核对月活用户数及其单位（人/万人/亿人）；不足{mau_min}的平台不符合本方向申报条件。"}),
    Rule("PLATFORM_MAU_WRONG_YEAR", _E, "application", "二（一） 上一年度", "月活统计年度不是上一年度", texts={
        "message": "月活用户数的统计年度为{year}年，通知要求为上一年度（{want}年）平均月活用户数。",
        "hint": "请填写{want}年全年平均月活用户数，并注明统计年度为{want}年。"}),
    Rule("PLATFORM_NO_SERVICE_SCOPE", _E, "application", "二（一）", "未勾选服务领域", texts={
        "message": "服务领域未勾选（{scopes}中至少一项）。",
        "hint": "请在“服务领域”中勾选平台提供服务的领域。"}),
    Rule("CENTER_AREA_BELOW_300", _W, "application", "二（二） 原则上不低于{area_min}平方米", "体验中心面积低于{area_min}平方米",
         texts={
        "message": "体验中心面积为{area:g}平方米，低于通知“原则上不低于{area_min}平方米”的要求，请评审人员判断。",
        "hint": "请核对面积及单位（平方米）；确属面积不足的，由评审人员决定是否受理。"}),
    Rule("CENTER_FUNCTIONS_INCOMPLETE", _W, "application", "二（二） 集展示、体验、销售、培训于一体", "体验中心功能不全", texts={
        "message": "体验中心功能未勾选：{lacking}（通知要求集展示、体验、销售、培训于一体）。",
        "hint": "请核对体验中心是否具备{lacking}功能，如具备请勾选。"}),
    Rule("CENTER_NO_TECH", _W, "application", "二（二） 智能感知设施、5G+XR、大数据等", "体验中心未选择技术手段", texts={
        "other_only.message": "主要技术手段只勾选了“其他”，未选择智能感知设施、5G+XR、大数据等具体技术手段。",
        "none.message": "主要技术手段未勾选任何一项，未选择智能感知设施、5G+XR、大数据等具体技术手段。",
        "hint": "请勾选体验中心实际应用的技术手段（智能感知设施、5G、XR/虚拟现实、大数据等）。"}),
    Rule("APPLICANT_NAME_MISMATCH", _E, "application", None, "申报单位名称前后不一致", texts={
        "message": "{field_zh}“{name}”与{ref_zh}“{ref}”不一致。",
        "hint": "申报单位名称须与营业执照及公章一致，请统一封面、基本情况表和承诺书中的单位名称。"}),
    Rule("USCC_REGION_MISMATCH", _W, "application", None, "统一社会信用代码登记地与注册地址省份不一致", texts={
        "message": "统一社会信用代码第3–8位“{region}”对应{code_province}，注册地址“{address}”位于{address_province}，"
                   "两者不一致。（企业迁址后代码不变也会如此，请评审人员核实。）",
        "hint": "请核对统一社会信用代码和注册地址是否与营业执照一致。"}),
    Rule("NUMBER_INCONSISTENT", _E, "application", None, "数据前后矛盾（部分大于整体）", texts={
        "message": "{part}（{part_value}）大于{whole}（{whole_value}）。",
        "hint": "请核对{part}和{whole}的数值及单位。"}),
    Rule("DATE_INCONSISTENT", _E, "application", None, "日期不合理", texts={
        "before_notice.message": "{field_zh}为{date}，早于通知（{notice_number}）印发日期{notice_date}。",
        "before_notice.hint": "请核对并填写实际的{field_zh}。",
        "after_apply.message": "{field_zh}为{date}，晚于申报日期{apply_date}。",
        "after_apply.hint": "请核对{field_zh}和申报日期。"}),
    Rule("DIRECTION_FIELDS_MISMATCH", _W, "application", None, "填写了另一方向的内容", texts={
        "message": "申报方向为“{direction}”，但填写了“{other}”方向的内容：{fields}。",
        "hint": "请确认申报方向；如方向无误，请删除另一方向的内容，或改用对应方向的申报书模板。"}),
    Rule("COMMITMENT_MISSING", _E, "application", None, "申报单位承诺缺少签字或日期", texts={
        "message": "申报单位承诺缺少{what}。",
        "placeholder.message": "申报单位承诺缺少{what}（仅保留了模板提示文字）。",
        "signatory.hint": "请法定代表人在承诺书“法定代表人（签字）”处签字。",
        "date.hint": "请在承诺书落款处填写日期。"}),
    Rule("RECOMMENDER_PATH_MISMATCH", _E, "application", "四（一）", "申报书所填推荐单位与报送目录不一致", texts={
        "message": "申报书推荐单位为“{written}”，但该文件报送在“{folder}”目录下（{folder_unit}）。",
        "message_en": "The form names {written} as recommender but was filed under {folder_unit}.",
        "hint": "请确认推荐单位：由申报书所填推荐单位报送，或更正申报书中的推荐单位名称。"}),
    Rule("RECOMMENDER_REGION_MISMATCH", _W, "application", "四（一）", "推荐单位与申报项目所在地区不符", texts={
        "message": "推荐单位为{unit}（{unit_kind}），但{what}为“{place}”，不在其所辖地区内。",
        "message_en": "Recommender {unit} covers {scope}, but the {field} lies elsewhere.",
        "hint": "请核实推荐单位是否为项目所在地的工业和信息化主管部门。"}),
    # Across the batch
    Rule("RECOMMENDER_UNKNOWN", _E, "batch", "四（一）", "推荐单位不在推荐单位范围内"),
    Rule("QUOTA_EXCEEDED", _E, "batch", "四（二） 不超过{center_per_unit}个", "体验中心方向推荐数量超过限额"),
    Rule("CITY_EXTRA_QUOTA_EXCEEDED", _E, "batch", "四（二） 额外推荐不超过{center_extra_per_demo_city}个",
         "示范城市额外推荐超过限额"),
    Rule("CITY_EXTRA_NOT_DEMO_CITY", _E, "batch", "四（二） 见附件1", "额外推荐城市不是信息消费示范城市"),
    Rule("CITY_EXTRA_NOT_VIA_PROVINCE", _E, "batch", "四（二） 需提交所在省（区）统一上报", "示范城市额外推荐未经所在省统一上报"),
    Rule("PLATFORM_QUOTA_NONE", _I, "batch", "四（二） 不作推荐数量要求", "平台方向不限推荐数量"),
    Rule("DUPLICATE_APPLICATION", _E, "batch", None, "同一项目重复申报"),
    Rule("LATE_SUBMISSION", _E, "batch", "四（三） {deadline}前", "逾期报送"),
)


def make_finding(code: str, campaign: Campaign | None = None, **kw: Any) -> Finding:
    """A finding of a catalogued code, with its severity and (filled) clause unless given."""
    r = RULES[code]
    kw.setdefault("severity", r.severity)
    kw.setdefault("clause", r.clause_for(campaign) if r.clause is not None else None)
    return Finding(code=code, **kw)
