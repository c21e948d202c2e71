"""Render a values dict (see :mod:`formintake.samples.values`) as a filled 申报书: docx or PDF.

Both writers render the same format-neutral plan (:func:`plan_form`): cover lines, the two label/value
tables, the narrative sections, the commitment and the recommender's opinion (forms.md "Layout shared by
both forms"). :class:`RenderStyle` picks the variants real applicants produce (label wording, column
layout, number/date spellings, tick glyphs, content controls, merged cells); every style yields the
same normalised values (:func:`formintake.samples.values.truth_of`).

Fonts (PDF). Chinese text uses reportlab's built-in CID font ``STSong-Light`` (no font file; pdfplumber
extracts it). That font has no ☑ ☐ ✓ ☒ glyphs (pdfminer/pdfplumber drops them), so every tick glyph
is drawn with an embedded TrueType font. Checked on Debian 13 with pdfplumber 0.11.10:

* DejaVu Sans (``/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf``, package ``fonts-dejavu-core``)
  has ☑ ☐ ■ □ √ ✓ ☒ and pdfplumber extracts all of them -> chosen;
* WenQuanYi Micro Hei (``fonts-wqy-microhei``) lacks ☑ ☐ ☒ (they extract as ``\\x00``) -> not used;
* STSong-Light keeps ■ □ √ ㎡ but drops ☑ ☐ ✓ ☒.

Without the DejaVu file the PDF writer falls back to ``[x]`` / ``[ ]`` for the glyph styles STSong-Light
cannot draw (``■`` / ``□`` / ``√`` stay as they are); ``PDF_TICK_FONT`` says which case applies.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from formintake.fields import BY_KEY, DIRECTION_OPTIONS, FIELDS
from formintake.samples.values import Raw, is_blank

# Debian packages the renderer needs at run time (read by the install script).
SYSTEM_PACKAGES = ["fonts-dejavu-core"]
TICK_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

TITLE = "2023年新型信息消费示范项目申报书"
DIRECTION_TITLE = {"platform": "（用户过亿信息消费大平台方向）", "experience_center": "（信息消费体验中心方向）"}
SECTION_HEADINGS = {
    "basic": "一、申报单位基本情况",
    "project": "二、项目基本情况",
    "三": "三、项目主要内容",
    "四": "四、项目创新性与示范性",
    "五": "五、项目实施成效",
    "六": "六、保障措施",
    "commitment": "申报单位承诺",
    "opinion": "推荐单位意见",
}
# merged sub-heading row before a direction's own part; neutral wording, so that the title bracket and
# the 申报方向 checkbox stay the only places that name the direction
SUBHEADING = "项目专项信息"
COMMITMENT_TEXT = (
    "本单位郑重承诺：所提交的申报材料内容真实、准确、完整，不存在弄虚作假行为；项目不涉及国家秘密，"
    "知识产权清晰、无争议；本单位近三年未发生重大安全事故和严重违法失信行为。如有不实，本单位愿承担相应责任。"
)

# Accepted label variants (forms.md / fields.py) used by RenderStyle(labels="variant"). Chosen so that no
# variant label of one field is the label of another field in the same section.
VARIANT_LABELS = {
    "applicant_name": "企业名称",
    "uscc": "社会信用代码",
    "registered_address": "注册地",
    "office_address": "实际经营地址",
    "postcode": "邮编",
    "entity_nature": "企业性质",
    "founded_on": "成立日期",
    "registered_capital_wan": "注册资本",
    "legal_representative": "法人代表",
    "contact_phone": "手机号码",
    "contact_email": "E-mail",
    "employees": "职工人数",
    "rnd_staff": "研发人员数",
    "revenue_prev_wan": "2022年营业收入",
    "rnd_spend_prev_wan": "上年度研发投入",
    "project_location": "所在地区",
    "start_date": "上线时间",
    "total_investment_wan": "项目总投资",
    "invested_wan": "已完成投资",
    "platform_name": "平台（APP、网站、小程序）名称",
    "mau_prev_avg": "上年度月均活跃用户数",
    "mau_year": "统计年度",
    "center_address": "详细地址",
    "area_sqm": "面积（㎡）",
    "functions": "功能分区",
    "opened_on": "开放时间",
    "annual_visitors": "年客流量",
    "recommend_rank": "推荐顺序",
    "demo_city": "额外推荐的信息消费示范城市",
    "apply_date": "填报日期",
}
# unit a value must carry when its label does not say it
UNIT_SUFFIX = {"万元": "万元", "人": "人", "人次": "人次", "平方米": "平方米"}
# fields that take a whole row in the four-column layout
LONG_FIELDS = {
    "registered_address", "office_address", "entity_nature", "main_business", "project_location", "tech_means",
    "summary", "platform_name", "service_scopes", "center_name", "center_kind", "center_address", "functions",
}
MERGE_FIELDS = {"summary", "main_business"}  # merged label row + value row in the two-column layout
CJK_TEXT_FIELDS = {"summary", "main_business", "recommender_opinion"}

TICKS = {  # style.tick -> (checked, unchecked)
    "☑": ("☑", "☐"), "■": ("■", "□"), "√": ("√", "□"), "✓": ("✓", "☐"), "☒": ("☒", "☐"), "[x]": ("[x]", "[ ]"),
}
TICK_STYLES = (*TICKS, "delete", "sdt")
MAU_STYLES = ("plain", "yi", "wan_comma", "zh", "wan_ren", "wan_label")
DATE_STYLES = ("cn", "fullwidth", "dot", "iso")


@dataclass(frozen=True)
class RenderStyle:
    """How an applicant filled the template. Every combination yields the same normalised values."""

    table_columns: int = 2  # 2 (label, value) or 4 (label, value, label, value)
    labels: str = "canonical"  # "canonical" (fields.py first label) or "variant" (VARIANT_LABELS)
    spaced_labels: bool = False  # short labels written with inner spaces: 联 系 人, 邮  编
    ascii_brackets: bool = False  # 面积(㎡), 员工总数(人) with half-width brackets
    mau: str = "plain"  # plain 389000000 | yi 3.89亿 | wan_comma 38,900万 | zh 三亿八千九百万 | wan_ren 38900万人 | wan_label label（万人）+ 38900
    mau_year_in_label: bool = False  # "2022年平均月活用户数" instead of a 月活统计年度 row
    dates: str = "cn"  # cn 2023年8月20日 | fullwidth ２０２３年８月２０日 | dot 2023.8.20 | iso 2023-08-20
    numbers: str = "plain"  # plain 12345.6 | comma 12,345.6 (thousands separators)
    tick: str = "☑"  # ☑ ■ √ ✓ ☒ [x] | "delete" (unchosen options deleted) | "sdt" (docx: w14:checkbox; PDF: ☑)
    tick_space: bool = False  # "☑ 国有企业" instead of "☑国有企业"
    title: str = "own_line"  # own_line: direction bracket on its own line | in_title | none (no bracket)
    title_direction: str | None = None  # direction named in the title, default the values' direction
    direction_checkbox: bool = False  # cover line 申报方向：☑用户过亿信息消费大平台 ☐信息消费体验中心
    cover_seal: str = "suffix"  # suffix: 申报单位：X（盖章） | label: 申报单位（盖章）：X
    merge_long: bool = False  # two-column layout: summary/main_business as merged label row + merged value row
    file_title: str | None = None  # docx core property / PDF metadata title

    def __post_init__(self) -> None:
        if self.table_columns not in (2, 4):
            raise ValueError("table_columns must be 2 or 4")
        if self.tick not in TICK_STYLES:
            raise ValueError(f"tick must be one of {TICK_STYLES}")
        if self.mau not in MAU_STYLES or self.dates not in DATE_STYLES:
            raise ValueError("bad mau/dates style")


def pick_style(rng, fmt: str = "docx") -> RenderStyle:
    """A random, realistic style (used by the demo batch)."""
    return RenderStyle(
        table_columns=rng.choice((2, 2, 4)),
        labels=rng.choice(("canonical", "canonical", "variant")),
        spaced_labels=rng.random() < 0.3,
        ascii_brackets=rng.random() < 0.2,
        mau=rng.choice(MAU_STYLES),
        mau_year_in_label=rng.random() < 0.25,
        dates=rng.choice(("cn", "cn", "fullwidth", "dot", "iso")),
        numbers=rng.choice(("plain", "comma")),
        tick=rng.choice(TICK_STYLES if fmt == "docx" else tuple(TICKS) + ("delete",)),
        tick_space=rng.random() < 0.4,
        title=rng.choice(("own_line", "in_title")),
        direction_checkbox=rng.random() < 0.3,
        cover_seal=rng.choice(("suffix", "label")),
        merge_long=rng.random() < 0.3,
    )


# ---------------------------------------------------------------------------------------------------
# Spelling values

_FW_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_ZH_DIGITS = "零一二三四五六七八九"


def spell_date(iso: str, style: RenderStyle) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    if style.dates == "dot":
        return f"{y}.{m}.{d}"
    if style.dates == "iso":
        return f"{y}-{m:02d}-{d:02d}"
    s = f"{y}年{m}月{d}日"
    return s.translate(_FW_DIGITS) if style.dates == "fullwidth" else s


def spell_number(x: float | int, style: RenderStyle) -> str:
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    s = f"{x:,}" if style.numbers == "comma" else str(x)
    return s


def zh_number(n: int) -> str:
    """Chinese numerals: 123000000 -> 一亿二千三百万, 105000000 -> 一亿零五百万."""
    if n == 0:
        return "零"

    def four(k: int) -> str:
        out, zero = "", False
        for unit, div in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
            d = k // div % 10
            if d:
                if zero and out:
                    out += "零"
                out += _ZH_DIGITS[d] + unit
                zero = False
            else:
                zero = True
        return out

    parts, groups = "", []
    for unit in ("", "万", "亿"):
        groups.append((n % 10000, unit))
        n //= 10000
    groups.reverse()
    pending_zero = False
    for k, unit in groups:
        if k == 0:
            if parts:
                pending_zero = True
            continue
        if parts and (pending_zero or k < 1000):
            parts += "零"
        parts += four(k) + unit
        pending_zero = False
    return parts[1:] if parts.startswith("一十") else parts


def spell_persons(n: int, style: RenderStyle) -> str:
    """MAU / registered users in the style's spelling (the label says nothing about the unit)."""
    if style.mau == "yi" and n % 1_000_000 == 0:
        return f"{n / 100_000_000:g}亿"
    if style.mau == "wan_comma" and n % 10_000 == 0:
        return f"{n // 10_000:,}万"
    if style.mau == "zh" and n % 10_000 == 0:
        return zh_number(n)
    if style.mau == "wan_ren" and n % 10_000 == 0:
        return f"{n // 10_000}万人"
    if style.mau == "wan_label":  # the label says （万人）
        return f"{n / 10_000:.4f}".rstrip("0").rstrip(".")
    return f"{n:,}" if style.numbers == "comma" else str(n)


def to_cjk_punct(text: str) -> str:
    """Chinese narrative as typed: ASCII , ; : ( ) -> ，；：（） (folds back to the normalised value)."""
    return text.translate(str.maketrans({",": "，", ";": "；", ":": "：", "(": "（", ")": "）"}))


# ---------------------------------------------------------------------------------------------------
# The plan: format-neutral blocks

@dataclass
class Box:
    checked: bool
    option: str


Item = str | Box  # a run of text or one checkbox with its option text


@dataclass
class Cell:
    items: list[Item]
    span: int = 1
    is_label: bool = False


def label_for(key: str, style: RenderStyle, values: dict[str, Any]) -> str:
    spec = BY_KEY[key]
    label = VARIANT_LABELS.get(key, spec.labels[0]) if style.labels == "variant" else spec.labels[0]
    if key == "mau_prev_avg":
        if style.mau_year_in_label and not is_blank(values.get("mau_year")):
            label = f"{values['mau_year']}年平均月活用户数"
        if style.mau == "wan_label":
            label += "（万人）"
    if key == "registered_users" and style.mau == "wan_label":
        label += "（万人）"
    if style.ascii_brackets:
        label = label.replace("（", "(").replace("）", ")")
    if style.spaced_labels and len(label) <= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", label):
        label = ("  " if len(label) == 2 else " ").join(label)
    return label


def value_items(key: str, values: dict[str, Any], style: RenderStyle, label: str) -> list[Item]:
    """The value cell's content for one field."""
    spec = BY_KEY[key]
    v = values.get(key)
    if isinstance(v, Raw):
        return [v.text]
    if spec.type in ("enum", "set") and key != "direction":
        chosen = set(v if isinstance(v, list) else [v] if v else [])
        if style.tick == "delete":
            return ["、".join(o for o in spec.options if o in chosen)] if chosen else [""]
        return [Box(o in chosen, o) for o in spec.options]
    if v is None or v == "":
        return [""]
    if spec.type == "date":
        return [spell_date(v, style)]
    if key in ("mau_prev_avg", "registered_users"):
        return [spell_persons(v, style)]
    if key == "mau_year":
        return [f"{v}年" if style.numbers == "comma" else str(v)]
    if spec.type in ("integer", "decimal") and key != "recommend_rank":
        s = spell_number(v, style)
        has_unit = "（" in label or "(" in label
        if spec.unit and not has_unit:
            s += UNIT_SUFFIX.get(spec.unit, "")
        return [s]
    if key in CJK_TEXT_FIELDS:
        return [to_cjk_punct(str(v))]
    return [str(v)]


def _section_keys(section: str, values: dict[str, Any]) -> list[str]:
    return [f.key for f in FIELDS if f.section == section]


def _table_rows(keys: list[str], values: dict[str, Any], style: RenderStyle) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    pending: list[Cell] = []  # half row in the four-column layout
    for key in keys:
        if key == "mau_year" and style.mau_year_in_label and not is_blank(values.get("mau_year")):
            continue
        label = label_for(key, style, values)
        lab = Cell([label], is_label=True)
        val = Cell(value_items(key, values, style, label))
        if style.table_columns == 2:
            if style.merge_long and key in MERGE_FIELDS:
                rows.append([Cell([label], span=2, is_label=True)])
                rows.append([Cell(val.items, span=2)])
            else:
                rows.append([lab, val])
            continue
        if key in LONG_FIELDS:
            if pending:
                rows.append(pending + [Cell([""], is_label=True), Cell([""])])
                pending = []
            val.span = 3
            rows.append([lab, val])
        else:
            pending += [lab, val]
            if len(pending) == 4:
                rows.append(pending)
                pending = []
    if pending:
        rows.append(pending + [Cell([""], is_label=True), Cell([""])])
    return rows


def _narrative(values: dict[str, Any]) -> dict[str, list[str]]:
    d = values.get("direction")
    pname = values.get("project_name") or "本项目"
    if isinstance(pname, Raw):
        pname = "本项目"
    if d == "platform" or (d is None and "platform_name" in values):
        body = [
            "（一）建设内容。项目围绕用户全生命周期服务，建设统一的用户中心、交易中心和内容中台，"
            "打通线上线下服务链路，持续丰富数字消费场景。",
            "（二）技术方案。平台采用云原生分布式架构，依托大数据和人工智能算法实现精准推荐与风险防控，"
            "具备亿级用户并发服务能力。",
        ]
    else:
        body = [
            "（一）空间布局。体验中心设置展示区、沉浸式体验区、销售服务区和培训区四大功能分区，"
            "为消费者提供一站式数字生活体验。",
            "（二）技术应用。综合应用5G、XR、智能感知设施和大数据等技术，打造虚实融合的沉浸式消费场景。",
        ]
    return {
        "三": [f"{to_cjk_punct(str(pname))}主要内容如下。", *body],
        "四": ["项目在商业模式、服务模式和技术应用方面具有较强创新性，形成了可复制、可推广的经验做法，"
               "对带动区域信息消费升级具有明显示范作用。"],
        "五": ["项目实施以来，用户规模和服务质量稳步提升，有效带动上下游企业协同发展，社会效益和经济效益显著。"],
        "六": ["成立由主要负责人牵头的项目领导小组，建立健全资金保障、人才保障和数据安全保障机制，"
               "严格落实个人信息保护和消费者权益保护要求。"],
    }


@dataclass
class Block:
    kind: str  # title | line | heading | para | table | pagebreak
    items: list[Item] | None = None
    rows: list[list[Cell]] | None = None


def plan_form(values: dict[str, Any], style: RenderStyle) -> list[Block]:
    """The filled form as format-neutral blocks."""
    d = values.get("direction")
    title_dir = style.title_direction or d
    blocks: list[Block] = []
    if style.title == "in_title" and title_dir:
        blocks.append(Block("title", [TITLE + DIRECTION_TITLE[title_dir]]))
    else:
        blocks.append(Block("title", [TITLE]))
        if style.title == "own_line" and title_dir:
            blocks.append(Block("title", [DIRECTION_TITLE[title_dir]]))

    def text_of(key: str) -> str:
        v = values.get(key)
        if isinstance(v, Raw):
            return v.text
        return "" if v is None else str(v)

    def line(label: str, value: str) -> Block:
        return Block("line", [f"{label}：{value}"])

    blocks.append(line(label_for("project_name", style, values), text_of("project_name")))
    if style.cover_seal == "label":
        blocks.append(line("申报单位（盖章）", text_of("applicant_name_cover")))
        blocks.append(line("推荐单位（盖章）", text_of("recommender")))
    else:
        blocks.append(line("申报单位", text_of("applicant_name_cover") + "（盖章）"))
        blocks.append(line("推荐单位", text_of("recommender") + "（盖章）"))
    if not is_blank(values.get("demo_city")) or isinstance(values.get("demo_city"), Raw):
        blocks.append(line(label_for("demo_city", style, values), text_of("demo_city")))
    if values.get("recommend_rank") not in (None, ""):
        blocks.append(line(label_for("recommend_rank", style, values), text_of("recommend_rank")))
    if style.direction_checkbox:
        ticked = DIRECTION_OPTIONS[0 if d == "platform" else 1] if d else None
        if style.tick == "delete":
            items: list[Item] = [f"申报方向：{ticked or ''}"]
        else:
            items = ["申报方向："] + [Box(o == ticked, o) for o in DIRECTION_OPTIONS]
        blocks.append(Block("line", items))
    ad = values.get("apply_date")
    blocks.append(line(label_for("apply_date", style, values),
                       ad.text if isinstance(ad, Raw) else spell_date(ad, style) if ad else "    年  月  日"))
    blocks.append(Block("pagebreak"))

    blocks.append(Block("heading", [SECTION_HEADINGS["basic"]]))
    blocks.append(Block("table", rows=_table_rows(_section_keys("basic", values), values, style)))
    blocks.append(Block("heading", [SECTION_HEADINGS["project"]]))
    rows = _table_rows(_section_keys("project", values), values, style)
    for sec in ("platform", "experience_center"):
        keys = [k for k in _section_keys(sec, values) if k in values]
        if not keys:
            continue
        rows.append([Cell([SUBHEADING], span=style.table_columns, is_label=True)])
        rows += _table_rows(keys, values, style)
    blocks.append(Block("table", rows=rows))
    for n, paras in _narrative(values).items():
        blocks.append(Block("heading", [SECTION_HEADINGS[n]]))
        blocks += [Block("para", [p]) for p in paras]

    blocks.append(Block("heading", [SECTION_HEADINGS["commitment"]]))
    blocks.append(Block("para", [COMMITMENT_TEXT]))
    blocks.append(Block("line", [f"法定代表人（签字）：{text_of('commitment_signatory')}"]))
    blocks.append(Block("line", [f"申报单位（盖章）：{text_of('applicant_name_commitment')}"]))
    cd = values.get("commitment_date")
    blocks.append(Block("line", [cd.text if isinstance(cd, Raw) else spell_date(cd, style) if cd else "    年  月  日"]))
    blocks.append(Block("heading", [SECTION_HEADINGS["opinion"]]))
    blocks.append(Block("para", [to_cjk_punct(text_of("recommender_opinion"))]))
    blocks.append(Block("line", ["推荐单位（盖章）"]))
    rd = values.get("recommender_date")
    blocks.append(Block("line", [rd.text if isinstance(rd, Raw) else spell_date(rd, style) if rd else "    年  月  日"]))
    return blocks


def _tick_text(box: Box, style: RenderStyle) -> str:
    on, off = TICKS.get(style.tick, TICKS["☑"])
    return on if box.checked else off


# ---------------------------------------------------------------------------------------------------
# docx

W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


def _add_sdt_checkbox(paragraph, checked: bool) -> None:
    """A Word 2010 checkbox content control (w14:checkbox) showing ☒ / ☐."""
    from docx.oxml import parse_xml  # deferred: loaded only when a sample of this kind is drawn

    glyph = "☒" if checked else "☐"
    xml = (
        f'<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:w14="{W14}">'
        "<w:sdtPr><w:id w:val=\"{id}\"/>"
        f'<w14:checkbox><w14:checked w14:val="{1 if checked else 0}"/>'
        '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
        '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>'
        '<w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic" w:hint="eastAsia"/></w:rPr>'
        f"<w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>"
    )
    _add_sdt_checkbox.counter += 1
    paragraph._p.append(parse_xml(xml.replace("{id}", str(100000 + _add_sdt_checkbox.counter))))


_add_sdt_checkbox.counter = 0


def _fill_paragraph(paragraph, items: list[Item], style: RenderStyle, bold: bool = False) -> None:
    first = True
    for it in items:
        if isinstance(it, Box):
            if not first:
                paragraph.add_run("  ")
            if style.tick == "sdt":
                _add_sdt_checkbox(paragraph, it.checked)
            else:
                paragraph.add_run(_tick_text(it, style))
            paragraph.add_run((" " if style.tick_space else "") + it.option)
        else:
            r = paragraph.add_run(it)
            r.bold = bold
        first = False


def render_docx(values: dict[str, Any], style: RenderStyle | None = None) -> bytes:
    from docx import Document  # deferred: loaded only when a sample of this kind is drawn
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt
    from docx.table import _Cell

    style = style or RenderStyle()
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(11)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    cp = doc.core_properties
    cp.author = str(values.get("contact_name") or "")
    cp.title = style.file_title or TITLE
    cp.comments = ""
    for block in plan_form(values, style):
        if block.kind == "title":
            p = doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            r = p.add_run(block.items[0])
            r.bold = True
            r.font.size = Pt(18)
        elif block.kind == "pagebreak":
            doc.add_page_break()
        elif block.kind == "heading":
            p = doc.add_paragraph()
            r = p.add_run(block.items[0])
            r.bold = True
            r.font.size = Pt(14)
        elif block.kind in ("line", "para"):
            _fill_paragraph(doc.add_paragraph(), block.items, style)
        elif block.kind == "table":
            ncols = style.table_columns
            table = doc.add_table(rows=len(block.rows), cols=ncols)
            table.style = "Table Grid"
            for ri, row in enumerate(block.rows):
                # the row's cells, taken once (table.cell() rescans the whole grid on every call)
                tcells = [_Cell(tc, table) for tc in table.rows[ri]._tr.tc_lst]
                col = 0
                for cell in row:
                    c = tcells[col]
                    if cell.span > 1:
                        c = c.merge(tcells[col + cell.span - 1])
                    _fill_paragraph(c.paragraphs[0], cell.items, style, bold=cell.is_label and cell.span == ncols)
                    col += cell.span
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------
# PDF

CJK_FONT = "STSong-Light"
PDF_TICK_FONT: str | None = None  # "DejaVuSans" once registered, None when the font file is missing
_fonts_ready = False


def register_fonts() -> str | None:
    """Register the CID font and (when present) DejaVu Sans for tick glyphs; return the tick font name."""
    global _fonts_ready, PDF_TICK_FONT
    if not _fonts_ready:
        from reportlab.pdfbase import pdfmetrics  # deferred: loaded only when a sample of this kind is drawn
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        if TICK_FONT_FILE.is_file():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(TICK_FONT_FILE)))
            PDF_TICK_FONT = "DejaVuSans"
        _fonts_ready = True
    return PDF_TICK_FONT


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markup(items: list[Item], style: RenderStyle) -> str:
    tick_font = register_fonts()
    out: list[str] = []
    for i, it in enumerate(items):
        if isinstance(it, Box):
            if i and isinstance(items[i - 1], Box):
                out.append(" ")  # one real space: STSong-Light's nbsp is dropped by pdfplumber
            glyph = _tick_text(it, style)
            if glyph in ("[x]", "[ ]"):
                out.append(_esc(glyph))
            elif tick_font:
                out.append(f'<font name="{tick_font}">{glyph}</font>')
            elif glyph in ("■", "□", "√"):
                out.append(glyph)
            else:
                out.append("[x]" if it.checked else "[&nbsp;]")
            out.append((" " if style.tick_space else "") + _esc(it.option))
        else:
            out.append(_esc(it))
    return "".join(out)


def _pdf_style(style: RenderStyle) -> RenderStyle:
    return replace(style, tick="☑") if style.tick == "sdt" else style


def build_pdf_story(values: dict[str, Any], style: RenderStyle) -> list:
    from reportlab.lib import colors  # deferred: loaded only when a sample of this kind is drawn
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, Spacer, Table, TableStyle

    register_fonts()
    style = _pdf_style(style)
    body = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10.5, leading=16, wordWrap="CJK", firstLineIndent=21)
    line = ParagraphStyle("line", parent=body, firstLineIndent=0, fontSize=12, leading=22)
    cell = ParagraphStyle("cell", fontName=CJK_FONT, fontSize=9.5, leading=13, wordWrap="CJK")
    title = ParagraphStyle("title", fontName=CJK_FONT, fontSize=20, leading=30, alignment=TA_CENTER, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=CJK_FONT, fontSize=13, leading=24, spaceBefore=8, wordWrap="CJK")
    width = 495.0
    widths = {2: [130.0, width - 130.0], 4: [100.0, 147.5, 100.0, 147.5]}
    story: list = []
    cover_started = False
    for block in plan_form(values, style):
        if block.kind == "title":
            if not cover_started:
                story.append(Spacer(1, 120))
                cover_started = True
            text = block.items[0]
            size = 20 if len(text) <= 22 else 14  # a title with its bracket fits on one line
            story.append(Paragraph(_markup(block.items, style), ParagraphStyle("t", parent=title, fontSize=size, leading=size * 1.5)))
        elif block.kind == "pagebreak":
            story.append(PageBreak())
        elif block.kind == "heading":
            story.append(Paragraph(_markup(block.items, style), heading))
        elif block.kind == "line":
            story.append(Paragraph(_markup(block.items, style), line))
        elif block.kind == "para":
            story.append(Paragraph(_markup(block.items, style), body))
        elif block.kind == "table":
            ncols = style.table_columns
            data, cmds = [], [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
            for ri, row in enumerate(block.rows):
                out_row, col = [], 0
                for c in row:
                    out_row.append(Paragraph(_markup(c.items, style), cell))
                    out_row += [""] * (c.span - 1)
                    if c.span > 1:
                        cmds.append(("SPAN", (col, ri), (col + c.span - 1, ri)))
                    col += c.span
                data.append(out_row)
            story.append(Table(data, colWidths=widths[ncols], style=TableStyle(cmds), repeatRows=0))
            story.append(Spacer(1, 6))
    return story


def render_pdf(values: dict[str, Any], style: RenderStyle | None = None, *, encrypt_password: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4  # deferred: loaded only when a sample of this kind is drawn
    from reportlab.platypus import SimpleDocTemplate

    style = style or RenderStyle()
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if encrypt_password:
        from reportlab.lib.pdfencrypt import StandardEncryption  # deferred: loaded only when a sample of this kind is drawn

        kwargs["encrypt"] = StandardEncryption(encrypt_password, ownerPassword=encrypt_password + "-owner")
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=50, rightMargin=50, topMargin=60, bottomMargin=60,
        title=style.file_title or TITLE, author=str(values.get("contact_name") or ""), invariant=True, **kwargs,
    )
    doc.build(build_pdf_story(values, style))
    return buf.getvalue()
