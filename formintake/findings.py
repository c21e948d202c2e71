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


def _terms_of(campaign: Campaign) -> dict[str, str]:
    t, q = campaign.thresholds, campaign.quotas
    return {
        "area_min": f"{t.area_min_sqm:g}",
        "mau_min": zh_count(t.mau_min),
        "summary_min": str(t.summary_min_chars),
        "summary_max": str(t.summary_max_chars),
        "deadline": zh_date(campaign.deadline),
        "deadline_iso": campaign.deadline.isoformat(),
        "tz": campaign.timezone_zh,  # as reviewers name it (北京时间)
        "tz_name": campaign.timezone,  # the IANA name (Asia/Shanghai)
        "notice_number": campaign.notice_number,
        "notice_date": zh_date(campaign.notice_date),
        "center_per_unit": str(q.center_per_unit),
        "center_extra_per_demo_city": str(q.center_extra_per_demo_city),
        "demo_cities_source": campaign.demo_cities_source,
    }


_TERMS: dict[int, tuple[Any, dict[str, str]]] = {}  # id(campaign) -> (campaign, terms): a few campaigns a process


def campaign_terms(campaign: Campaign) -> dict[str, str]:
    """The values templates may name: ``{area_min}``, ``{mau_min}``, ``{deadline}``, ``{tz}``, quotas, the
    notice… (computed once per campaign object; do not modify the dict)."""
    hit = _TERMS.get(id(campaign))
    if hit is None or hit[0] is not campaign:
        if len(_TERMS) >= 8:  # never keeps more than a few campaign objects alive
            _TERMS.clear()
        hit = _TERMS[id(campaign)] = (campaign, _terms_of(campaign))
    return hit[1]


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
    Rule("FILE_OCR_USED", _W, "intake", None, "数值来自OCR识别，请与原件核对", texts={
        # added to FIELD_INVALID_FORMAT / USCC_INVALID on a value read by OCR (validators/ocr_hints.py)
        "value.note": "该值来自扫描件OCR识别，可能是识别错误，请与原件核对。",
        "value.candidates_note": "该值来自扫描件OCR识别，可能是识别错误，请与原件核对；按易混字符（O/0、I/1、S/5、B/8、Z/2）"
                                 "更正后有效的候选：{candidates}。"}),
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
    Rule("INTERNAL_ERROR", _E, "intake", None, "系统处理出错（非申报单位原因），将在下次运行时重试", texts={
        "rule.message": "系统处理出错（检查“{title}”时），不是申报单位的问题；将在下次运行时重试",
        "rule.message_en": "rule {code} could not run: {error}",
        "batch.message": "系统处理出错（批量检查“{title}”未能完成），不是申报单位的问题；请人工复核，下次运行将重新检查",
        "batch.message_en": "batch rule {code} could not run: {error}"}),
    Rule("FILE_TABLES_SKIPPED", _W, "intake", None, "页面线条或文字过多，未识别表格结构，已按纯文字读取"),
    Rule("FILE_CONTENT_SKIPPED", _W, "intake", None, "docx中以其他格式嵌入的内容（altChunk，如RTF）未能读取"),
    Rule("STAMP_MISSING", _W, "intake", None, "扫描件的盖章处未见红色公章"),
    # One application
    Rule("FIELD_MISSING", _E, "application", _CLAUSE_3, "必填项缺失", texts={
        "expected": "必填项“{field_zh}”应填写",
        "message": "必填项“{field_zh}”未填写。",
        "hint": "请在申报书中填写“{label}”。"}),
    Rule("FIELD_PLACEHOLDER", _E, "application", _CLAUSE_3, "保留了模板提示文字", texts={
        "required.expected": "“{field_zh}”的实际内容（必填）",
        "required.message": "“{field_zh}”处保留了模板提示文字“{raw}”，未填写实际内容。",
        "required.hint": "请删除提示文字并填写“{label}”。",
        "optional.expected": "“{field_zh}”的实际内容（选填，可留空）",
        "optional.message": "“{field_zh}”处保留了模板提示文字“{raw}”，未填写实际内容。该项为选填，视同未填写，仅作记录。",
        "optional.hint": "如无此项内容，建议删除提示文字留空。"}),
    Rule("FIELD_INVALID_FORMAT", _E, "application", _CLAUSE_3, "填写内容格式不正确", texts={
        # a value the extractor could not read (state invalid), with or without the reader's reason
        "unreadable.message": "“{field_zh}”的内容“{raw}”无法识别为{type_zh}。",
        "unreadable_why.message": "“{field_zh}”的内容“{raw}”无法识别为{type_zh}（{why}）。",
        # a value read that is not of its type: {what} is one of the *.what texts, {note} the OCR note
        "message": "“{field_zh}”的内容“{shown}”{what}。{note}",
        "hint": "请按规定格式重新填写“{label}”。",
        # what an unreadable value should have been
        "unreadable.options.expected": "从以下选项中勾选：{options}",
        "unreadable.number_unit.expected": "{type_zh}（单位：{unit}）",
        "unreadable.date.expected": "日期，如 2023年8月30日",
        "unreadable.year.expected": "4位年份，如 2022",
        "unreadable.email.expected": "电子邮箱，如 name@example.com",
        "unreadable.phone.expected": "手机号码或固定电话，如 010-68208201",
        "unreadable.postcode.expected": "6位数字邮政编码",
        # a field's type, as messages name it
        "integer.type": "整数",
        "decimal.type": "数值",
        "date.type": "日期",
        "year.type": "年份",
        "email.type": "电子邮箱",
        "phone.type": "电话号码",
        "postcode.type": "邮政编码",
        "choice.type": "勾选项",
        "text.type": "文字",
        "uscc.type": "统一社会信用代码",
        "email.what": "不是有效的电子邮箱地址",
        "email.expected": "电子邮箱，如 name@example.com",
        "phone.what": "不是有效的手机号码或固定电话",
        "phone.expected": "手机号码（11位，1[3-9]开头）或固定电话（区号-号码，可带分机），如 010-68208201",
        "postcode.what": "不是6位数字的邮政编码",
        "postcode.expected": "6位数字邮政编码，如 100846",
        "year.what": "不是有效的年份",
        "year.expected": "4位年份，如 2022",
        "date.what": "不是有效的日期",
        "date.expected": "日期，如 2023年8月30日",
        "integer.what": "不是有效的整数",
        "integer.expected": "不小于{low}的整数",
        "decimal.what": "不是有效的数值",
        "decimal.expected": "不小于0的数值",
        "decimal_unit.expected": "不小于0的数值（单位：{unit}）",
        # 项目简介 outside the template's length (a warning)
        "summary.value": "{n}字",
        "summary.expected": "{summary_min}–{summary_max}字",
        "summary_short.message": "项目简介共{n}字，少于申报书要求的{summary_min}字（模板要求，请评审人员判断）。",
        "summary_short.hint": "请将项目简介补充至{summary_min}–{summary_max}字。",
        "summary_long.message": "项目简介共{n}字，超过申报书要求的{summary_max}字（模板要求，请评审人员判断）。",
        "summary_long.hint": "请将项目简介精简至{summary_min}–{summary_max}字。"}),
    Rule("USCC_INVALID", _E, "application", "三", "统一社会信用代码不符合GB 32100-2015", texts={
        "expected": "18位统一社会信用代码（GB 32100-2015）：字符集0-9及除I、O、Z、S、V外的大写字母，第3–8位为数字，"
                    "第18位校验码正确",
        # {problems}: the *.problem texts joined with "；"; {confusions}: confusion texts joined with "、"
        "message": "统一社会信用代码“{raw}”无效：{problems}",
        "confusions.message": "统一社会信用代码“{raw}”无效：{problems}。疑似字母与数字混淆：{confusions}",
        "length.problem": "长度应为18位，实为{n}位",
        "charset.problem": "含有代码不允许的字符：{chars}（代码字符集不含字母I、O、Z、S、V）",
        "region.problem": "第3–8位（登记管理机关行政区划码）应为6位数字",
        "checksum.problem": "第18位校验码不符：按前17位计算应为“{want}”，实为“{got}”（也可能是前17位中某一位录入有误）",
        "confusion": "字母{letter}疑为数字{digit}",
        "ocr.message": "{message}。{note}",  # a value read by OCR: the message and the OCR note
        "hint": "请按营业执照（或登记证书）核对并更正统一社会信用代码。",
        "checksum.hint": "请按营业执照（或登记证书）核对并更正统一社会信用代码。如与营业执照完全一致，请评审人员在国家企业信用信息公示系统核实该代码。",
        "corrected.hint": "疑似字母与数字混淆，按数字更正后为“{corrected}”且校验通过，请与营业执照核对后更正。",
        # the inner organisation code (GB 11714): info only
        "org_code.expected": "第9–17位组织机构代码符合GB 11714校验规则",
        "org_code.message": "统一社会信用代码“{code}”第18位校验码正确，但第9–17位组织机构代码的校验位（按GB 11714应为“{check}”）"
                            "不符。仅供参考，不影响受理。",
        "org_code.hint": "无需更正；如有疑问可在国家企业信用信息公示系统核实。"}),
    Rule("APPLICANT_NOT_LEGAL_PERSON", _E, "application", "三（一） 具备独立法人资格", "申报单位不具备独立法人资格", texts={
        "uscc.expected": "具备独立法人资格的单位（如统一社会信用代码以91开头的企业法人）",
        "branch.expected": "具备独立法人资格的单位，而非分支机构",
        "uscc.message": "统一社会信用代码第1–2位为“{type_code}”（{kind}），该类主体不具备独立法人资格。",
        "uscc.hint": "申报主体须为具备独立法人资格的单位，请由具备法人资格的单位申报，或核对统一社会信用代码。",
        "branch.message": "申报单位“{name}”名称含“{marker}”，属于分支机构，不具备独立法人资格。",
        "branch.hint": "请由具备独立法人资格的总公司（法人单位）作为申报主体申报。"}),
    Rule("APPLICANT_NOT_PRC_REGISTERED", _E, "application", "三（一） 在中华人民共和国境内注册",
         "申报单位不在中华人民共和国境内注册", texts={
        "address.expected": "在中华人民共和国境内（内地）注册的单位",
        "uscc.expected": "第3–8位为中华人民共和国境内行政区划代码（GB/T 2260，前两位为省级代码）",
        "address.message": "注册地址“{address}”位于{place}，不属于中华人民共和国境内（内地）注册。",
        "address.hint": "申报主体须在中华人民共和国境内注册，请核对注册地址，或由境内注册的法人单位申报。",
        "uscc.message": "统一社会信用代码第3–8位“{region}”不是中华人民共和国境内的行政区划代码。",
        "uscc.hint": "请核对统一社会信用代码是否与营业执照一致。"}),
    Rule("PLATFORM_MAU_BELOW_100M", _E, "application", "二（一） 月活不低于{mau_min}", "上一年度平均月活用户数低于{mau_min}", texts={
        "expected": "不低于{need}",
        "message": "上一年度平均月活用户数为{mau}，低于通知要求的{need}。",
        "hint": "请核对月活用户数及其单位（人/万人/亿人）；不足{mau_min}的平台不符合本方向申报条件。"}),
    Rule("PLATFORM_MAU_WRONG_YEAR", _E, "application", "二（一） 上一年度", "月活统计年度不是上一年度", texts={
        "expected": "{want}年（上一年度）",
        "message": "月活用户数的统计年度为{year}年，通知要求为上一年度（{want}年）平均月活用户数。",
        "hint": "请填写{want}年全年平均月活用户数，并注明统计年度为{want}年。"}),
    Rule("PLATFORM_NO_SERVICE_SCOPE", _E, "application", "二（一）", "未勾选服务领域", texts={
        "expected": "至少勾选一项：{scopes}",
        "message": "服务领域未勾选（{scopes}中至少一项）。",
        "hint": "请在“服务领域”中勾选平台提供服务的领域。"}),
    Rule("CENTER_AREA_BELOW_300", _W, "application", "二（二） 原则上不低于{area_min}平方米", "体验中心面积低于{area_min}平方米",
         texts={
        "expected": "原则上不低于{area_min}平方米",
        "message": "体验中心面积为{area:g}平方米，低于通知“原则上不低于{area_min}平方米”的要求，请评审人员判断。",
        "hint": "请核对面积及单位（平方米）；确属面积不足的，由评审人员决定是否受理。"}),
    Rule("CENTER_FUNCTIONS_INCOMPLETE", _W, "application", "二（二） 集展示、体验、销售、培训于一体", "体验中心功能不全", texts={
        "expected": "展示、体验、销售、培训四项功能齐全",
        "message": "体验中心功能未勾选：{lacking}（通知要求集展示、体验、销售、培训于一体）。",
        "hint": "请核对体验中心是否具备{lacking}功能，如具备请勾选。"}),
    Rule("CENTER_NO_TECH", _W, "application", "二（二） 智能感知设施、5G+XR、大数据等", "体验中心未选择技术手段", texts={
        "expected": "至少一项具体技术手段，如智能感知设施、5G、XR/虚拟现实、大数据等",
        "other_only.message": "主要技术手段只勾选了“其他”，未选择智能感知设施、5G+XR、大数据等具体技术手段。",
        "none.message": "主要技术手段未勾选任何一项，未选择智能感知设施、5G+XR、大数据等具体技术手段。",
        "hint": "请勾选体验中心实际应用的技术手段（智能感知设施、5G、XR/虚拟现实、大数据等）。"}),
    Rule("APPLICANT_NAME_MISMATCH", _E, "application", None, "申报单位名称前后不一致", texts={
        "expected": "与{ref_zh}“{ref}”一致",
        "message": "{field_zh}“{name}”与{ref_zh}“{ref}”不一致。",
        "hint": "申报单位名称须与营业执照及公章一致，请统一封面、基本情况表和承诺书中的单位名称。"}),
    Rule("USCC_REGION_MISMATCH", _W, "application", None, "统一社会信用代码登记地与注册地址省份不一致", texts={
        "expected": "登记管理机关行政区划码属于{address_province}（与注册地址一致）",
        "message": "统一社会信用代码第3–8位“{region}”对应{code_province}，注册地址“{address}”位于{address_province}，"
                   "两者不一致。（企业迁址后代码不变也会如此，请评审人员核实。）",
        "hint": "请核对统一社会信用代码和注册地址是否与营业执照一致。"}),
    Rule("NUMBER_INCONSISTENT", _E, "application", None, "数据前后矛盾（部分大于整体）", texts={
        "expected": "不大于{whole}（{whole_value}）",
        "message": "{part}（{part_value}）大于{whole}（{whole_value}）。",
        "hint": "请核对{part}和{whole}的数值及单位。"}),
    Rule("DATE_INCONSISTENT", _E, "application", None, "日期不合理", texts={
        "before_notice.expected": "不早于通知印发日期{notice_date}",
        "before_notice.message": "{field_zh}为{date}，早于通知（{notice_number}）印发日期{notice_date}。",
        "before_notice.hint": "请核对并填写实际的{field_zh}。",
        "after_apply.expected": "不晚于申报日期{apply_date}",
        "after_apply.message": "{field_zh}为{date}，晚于申报日期{apply_date}。",
        "after_apply.hint": "请核对{field_zh}和申报日期。"}),
    Rule("DIRECTION_FIELDS_MISMATCH", _W, "application", None, "填写了另一方向的内容", texts={
        "expected": "只填写{direction}方向的内容",
        "message": "申报方向为“{direction}”，但填写了“{other}”方向的内容：{fields}。",
        "hint": "请确认申报方向；如方向无误，请删除另一方向的内容，或改用对应方向的申报书模板。"}),
    Rule("COMMITMENT_MISSING", _E, "application", None, "申报单位承诺缺少签字或日期", texts={
        "expected": "申报单位承诺须有{what}",
        "signatory": "法定代表人签字",
        "date": "承诺日期",
        "message": "申报单位承诺缺少{what}。",
        "placeholder.message": "申报单位承诺缺少{what}（仅保留了模板提示文字）。",
        "signatory.hint": "请法定代表人在承诺书“法定代表人（签字）”处签字。",
        "date.hint": "请在承诺书落款处填写日期。"}),
    Rule("RECOMMENDER_PATH_MISMATCH", _E, "application", "四（一）", "申报书所填推荐单位与报送目录不一致", texts={
        "expected": "{folder_unit}（报送目录“{folder}”）",
        "message": "申报书推荐单位为“{written}”，但该文件报送在“{folder}”目录下（{folder_unit}）。",
        "message_en": "The form names {written} as recommender but was filed under {folder_unit}.",
        "hint": "请确认推荐单位：由申报书所填推荐单位报送，或更正申报书中的推荐单位名称。"}),
    Rule("RECOMMENDER_REGION_MISMATCH", _W, "application", "四（一）", "推荐单位与申报项目所在地区不符", texts={
        "expected": "位于{scope}（推荐单位{unit}所辖）",
        "center.what": "体验中心所在地",
        "applicant.what": "申报单位注册地址",
        "message": "推荐单位为{unit}（{unit_kind}），但{what}为“{place}”，不在其所辖地区内。",
        "message_en": "Recommender {unit} covers {scope}, but the {field} lies elsewhere.",
        "hint": "请核实推荐单位是否为项目所在地的工业和信息化主管部门。"}),
    # Across the batch
    Rule("RECOMMENDER_UNKNOWN", _E, "batch", "四（一）", "推荐单位不在推荐单位范围内", texts={
        "folder.expected": "省级、计划单列市、新疆生产建设兵团工业和信息化主管部门或中央企业",
        "folder.message": "报送目录“{path}”不是可识别的推荐单位。",
        "folder.message_en": "Upload folder '{path}' is not a known recommending unit.",
        "folder.hint": "请由推荐单位在本单位目录下报送；如为未列入名单的中央企业，请核实后补充配置。",
        "no_folder.expected": "报送在推荐单位目录下",
        "no_folder.message": "文件未报送在任何推荐单位目录下，申报书中也没有可识别的推荐单位。",
        "no_folder.message_en": "Not filed under a recommending unit's folder and the form names none.",
        "no_folder.hint": "请由推荐单位在本单位目录下报送。",
        "written.expected": "省级、计划单列市、新疆生产建设兵团工业和信息化主管部门、中央企业集团公司，或示范城市（额外推荐）",
        "written.message": "申报书推荐单位“{written}”不在通知规定的推荐单位范围内。",
        "written.message_en": "Recommender '{written}' is not a recommending unit under clause 4(1).",
        "written.hint": "请核实推荐单位名称；中央企业应由集团公司推荐。",
        "city_platform.expected": "省级、计划单列市、新疆生产建设兵团工业和信息化主管部门或中央企业",
        "city_platform.message": "{city}为信息消费示范城市，其工业和信息化主管部门仅可额外推荐信息消费体验中心方向项目，"
                                 "不能推荐用户过亿信息消费大平台方向项目。",
        "city_platform.message_en": "A demonstration city's department may only recommend extra experience centers.",
        "city_platform.hint": "平台方向项目请由所在省（区、市）工业和信息化主管部门推荐。"}),
    Rule("QUOTA_EXCEEDED", _E, "batch", "四（二） 不超过{center_per_unit}个", "体验中心方向推荐数量超过限额", texts={
        "expected": "每个推荐单位体验中心方向不超过{center_per_unit}个（推荐排序1–{center_per_unit}）",
        "message": "{unit}推荐信息消费体验中心方向项目{count}个（不含示范城市额外推荐），超过{center_per_unit}个；"
                   "本项目{rank}，在限额之外。",
        "message_en": "{unit} recommends {count} experience centers (quota {center_per_unit}); this one is beyond it.",
        "hint": "请推荐单位明确推荐排序，只保留{center_per_unit}个项目。",
        # {rank} above
        "rank": "推荐排序为{rank}",
        "no_rank": "未填写推荐排序"}),
    Rule("CITY_EXTRA_QUOTA_EXCEEDED", _E, "batch", "四（二） 额外推荐不超过{center_extra_per_demo_city}个",
         "示范城市额外推荐超过限额", texts={
        "expected": "每个示范城市额外推荐不超过{center_extra_per_demo_city}个",
        "message": "示范城市{city}额外推荐信息消费体验中心项目{count}个，超过{center_extra_per_demo_city}个；本项目{rank}，"
                   "在限额之外。",
        "message_en": "Demonstration city {city} has {count} extra recommendations (quota {center_extra_per_demo_city}).",
        "hint": "请明确额外推荐项目的推荐排序，只保留{center_extra_per_demo_city}个。"}),
    Rule("CITY_EXTRA_NOT_DEMO_CITY", _E, "batch", "四（二） 见附件1", "额外推荐城市不是信息消费示范城市", texts={
        "expected": "信息消费示范城市名单（{demo_cities_source}）中的城市",
        "message": "“{claim}”不在信息消费示范城市名单中，不能作为示范城市额外推荐；本项目计入推荐单位限额。",
        "message_en": "'{claim}' is not a demonstration city; counted against the unit's own quota.",
        "hint": "请核实示范城市名称；非示范城市项目应占用推荐单位的推荐名额。"}),
    Rule("CITY_EXTRA_NOT_VIA_PROVINCE", _E, "batch", "四（二） 需提交所在省（区）统一上报", "示范城市额外推荐未经所在省统一上报",
         texts={
        "expected": "由{province}工业和信息化主管部门统一上报",
        "self.message": "{city}的额外推荐项目由示范城市自行报送，应提交{province}工业和信息化主管部门统一上报。",
        "other.message": "{city}的额外推荐项目由{unit}报送，应提交{province}工业和信息化主管部门统一上报。",
        "message_en": "Extra of {city} filed by {unit}, not via {province}.",
        "hint": "请经{province}工业和信息化主管部门统一报送。"}),
    Rule("PLATFORM_QUOTA_NONE", _I, "batch", "四（二） 不作推荐数量要求", "平台方向不限推荐数量", texts={
        "expected": "不作推荐数量要求",
        "message": "{unit}推荐用户过亿信息消费大平台方向项目{count}个；该方向不作推荐数量要求，无需处理。",
        "message_en": "{unit} recommends {count} platforms; the platform direction has no quota."}),
    Rule("DUPLICATE_APPLICATION", _E, "batch", None, "同一项目重复申报", texts={
        "expected": "同一项目只申报一次",
        # {others}: one "other" per other application, joined with "；"
        "message": "同一申报单位（{uscc}）的同一项目被重复申报，另见：{others}。",
        "other": "{app_id}（{unit}，{key}，项目名称“{project_name}”）",
        "unknown_unit": "未知推荐单位",
        "message_en": "The same project (USCC, direction, project name) is filed more than once: {others}",
        "hint": "请推荐单位确认保留一份申报，撤回其余重复申报。"}),
    Rule("LATE_SUBMISSION", _E, "batch", "四（三） {deadline}前", "逾期报送", texts={
        "date.expected": "不晚于{deadline_iso}",
        "date.message": "推荐单位意见日期为{date}，晚于报送截止日期{deadline_iso}。",
        "date.message_en": "Recommendation dated {date}, after the deadline {deadline_iso}.",
        "date.hint": "逾期推荐的项目不予受理；如日期填写有误，请更正后重新上传。",
        "upload.expected": "不晚于{deadline_iso} 23:59:59（{tz_name}）",
        "upload.message": "文件上传时间为{local}（{tz}），晚于报送截止日期{deadline_iso}。",
        "upload.message_en": "Uploaded {local_iso}, after the deadline {deadline_iso}.",
        "upload.hint": "逾期报送的项目不予受理。"}),
)


def make_finding(code: str, campaign: Campaign | None = None, **kw: Any) -> Finding:
    """A finding of a catalogued code, with its severity and (filled) clause unless given."""
    r = RULES[code]
    kw.setdefault("severity", r.severity)
    kw.setdefault("clause", r.clause_for(campaign) if r.clause is not None else None)
    return Finding(code=code, **kw)
