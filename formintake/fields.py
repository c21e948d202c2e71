"""The field catalogue of forms.md: canonical keys, accepted labels, types, requirement, options.

The extractor finds values by these labels (never by position), the sample generator writes them,
and the completeness rules read ``required``. Keys are a contract: add fields, never rename.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["text", "integer", "decimal", "date", "enum", "set", "year", "email", "phone", "postcode", "uscc"]
# where a field lives: "cover", "basic" (一、申报单位基本情况), "project" (二、 common part),
# "platform" / "experience_center" (二、 the direction's own part), "commitment", "opinion"
Section = Literal["cover", "basic", "project", "platform", "experience_center", "commitment", "opinion"]


@dataclass(frozen=True)
class FieldSpec:
    key: str
    labels: tuple[str, ...]  # canonical label first, then accepted variants
    type: FieldType
    section: Section
    required: bool = False  # R (for every application of that form) or R* for the section's direction
    options: tuple[str, ...] = ()  # checkbox options (enum / set)
    unit: str | None = None  # base unit of a number: 人, 万元, 平方米
    zh: str = ""  # the Chinese name reviewers see

    def __post_init__(self) -> None:
        if not self.zh:
            object.__setattr__(self, "zh", self.labels[0])


ENTITY_NATURES = ("国有企业", "国有控股", "民营企业", "外资企业", "中外合资", "事业单位", "其他")
TECH_MEANS = ("5G", "千兆光网", "人工智能", "大数据", "云计算", "XR/虚拟现实", "物联网", "区块链", "智能感知设施", "其他")
SERVICE_SCOPES = ("网络销售", "生活服务", "社交娱乐", "信息资讯", "金融服务", "乡村振兴")
CENTER_KINDS = ("信息消费体验商圈", "信息消费体验街区", "信息消费体验店", "其他")
CENTER_FUNCTIONS = ("展示", "体验", "销售", "培训")
DIRECTION_OPTIONS = ("用户过亿信息消费大平台", "信息消费体验中心")

F = FieldSpec
FIELDS: tuple[FieldSpec, ...] = (
    # cover and routing
    F("direction", ("申报方向",), "enum", "cover", True, DIRECTION_OPTIONS),
    F("project_name", ("项目名称",), "text", "cover", True),
    F("applicant_name_cover", ("申报单位（盖章）", "申报单位"), "text", "cover", True, zh="封面申报单位"),
    F("recommender", ("推荐单位（盖章）", "推荐单位名称", "推荐单位"), "text", "cover", True),
    F("demo_city", ("示范城市额外推荐", "额外推荐的信息消费示范城市"), "text", "cover"),
    F("recommend_rank", ("推荐排序", "推荐顺序"), "integer", "cover"),
    F("apply_date", ("申报日期", "填报日期"), "date", "cover", True),
    # 一、申报单位基本情况
    F("applicant_name", ("单位名称", "申报单位名称", "企业名称"), "text", "basic", True),
    F("uscc", ("统一社会信用代码", "社会信用代码"), "uscc", "basic", True),
    F("registered_address", ("注册地址", "注册地"), "text", "basic", True),
    F("office_address", ("通讯地址", "实际经营地址"), "text", "basic"),
    F("postcode", ("邮政编码", "邮编"), "postcode", "basic"),
    F("entity_nature", ("单位性质", "企业性质"), "enum", "basic", True, ENTITY_NATURES),
    F("founded_on", ("成立时间", "成立日期", "注册时间"), "date", "basic", True),
    F("registered_capital_wan", ("注册资本（万元）", "注册资本"), "decimal", "basic", unit="万元"),
    F("legal_representative", ("法定代表人", "法人代表"), "text", "basic", True),
    F("contact_name", ("联系人",), "text", "basic", True),
    F("contact_title", ("职务",), "text", "basic"),
    F("contact_phone", ("联系电话", "手机", "手机号码"), "phone", "basic", True),
    F("contact_email", ("电子邮箱", "邮箱", "E-mail"), "email", "basic", True),
    F("employees", ("员工总数（人）", "员工总数", "职工人数"), "integer", "basic", True, unit="人"),
    F("rnd_staff", ("其中研发人员（人）", "其中研发人员", "研发人员数"), "integer", "basic", unit="人"),
    F("revenue_prev_wan", ("上年度营业收入（万元）", "上年度营业收入", "2022年营业收入"), "decimal", "basic", True, unit="万元"),
    F("rnd_spend_prev_wan", ("上年度研发投入（万元）", "上年度研发投入"), "decimal", "basic", unit="万元"),
    F("main_business", ("主营业务",), "text", "basic"),
    # 二、项目基本情况 — common
    F("project_location", ("项目所在地", "所在地区"), "text", "project", True),
    F("start_date", ("项目上线（开业）时间", "上线时间", "开业时间"), "date", "project", True),
    F("total_investment_wan", ("项目总投资（万元）", "项目总投资"), "decimal", "project", unit="万元"),
    F("invested_wan", ("其中已完成投资（万元）", "其中已完成投资", "已完成投资"), "decimal", "project", unit="万元"),
    F("tech_means", ("主要技术手段",), "set", "project", True, TECH_MEANS),
    F("summary", ("项目简介",), "text", "project", True),
    # 二、 附件2 用户过亿信息消费大平台
    F("platform_name", ("平台名称", "APP名称", "平台（APP、网站、小程序）名称"), "text", "platform", True),
    F("mau_prev_avg", ("上一年度平均月活用户数", "上年度月均活跃用户数"), "integer", "platform", True, unit="人"),
    F("mau_year", ("月活统计年度", "统计年度"), "year", "platform", True),
    F("registered_users", ("注册用户数",), "integer", "platform", unit="人"),
    F("service_scopes", ("服务领域",), "set", "platform", True, SERVICE_SCOPES),
    # 二、 附件3 信息消费体验中心
    F("center_name", ("体验中心名称",), "text", "experience_center", True),
    F("center_kind", ("体验中心类型",), "enum", "experience_center", True, CENTER_KINDS),
    F("center_address", ("体验中心地址", "详细地址"), "text", "experience_center", True),
    F("center_city", ("所在城市",), "text", "experience_center", True),
    F("area_sqm", ("体验中心面积（平方米）", "面积（㎡）", "展示面积", "体验中心面积", "面积"), "decimal", "experience_center", True, unit="平方米"),
    F("functions", ("功能", "功能分区"), "set", "experience_center", True, CENTER_FUNCTIONS),
    F("opened_on", ("开业时间", "开放时间"), "date", "experience_center", True),
    F("annual_visitors", ("上年度接待人次", "年客流量"), "integer", "experience_center", unit="人次"),
    # 申报单位承诺 / 推荐单位意见
    F("commitment_signatory", ("法定代表人（签字）",), "text", "commitment", True),
    F("commitment_date", ("承诺日期",), "date", "commitment", True, zh="承诺日期"),
    F("applicant_name_commitment", ("申报单位（盖章）",), "text", "commitment", zh="承诺处申报单位"),
    F("recommender_opinion", ("推荐单位意见",), "text", "opinion"),
    F("recommender_date", ("推荐日期",), "date", "opinion", True, zh="推荐单位意见日期"),
)
del F

BY_KEY: dict[str, FieldSpec] = {f.key: f for f in FIELDS}

# Notes for readers of the table above:
# * start_date and opened_on share the label 开业时间: in the experience-center section it is opened_on,
#   in the common project part 项目上线（开业）时间 is start_date. The extractor resolves by section.
# * applicant_name_cover and applicant_name_commitment share 申报单位（盖章）: cover vs commitment block.
# * commitment_date / recommender_date are the dates written under those blocks (no label needed).


def fields_for(direction: str | None) -> list[FieldSpec]:
    """The fields an application of this direction has (common + its own section)."""
    other = {"platform": "experience_center", "experience_center": "platform"}.get(direction or "")
    return [f for f in FIELDS if f.section != other]


def required_for(direction: str | None) -> list[FieldSpec]:
    return [f for f in fields_for(direction) if f.required and (direction or f.section not in ("platform", "experience_center"))]
