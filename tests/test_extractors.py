"""extractors: sniffing and intake codes, normalisation, checkbox reading, docx and PDF layouts, assembly."""

from __future__ import annotations

import io
import zipfile

import pytest

from formintake import extractors
from formintake.extractors.assemble import lookup_label
from formintake.extractors.checkbox import read_choices
from formintake.extractors.docx import read_docx
from formintake.extractors.layout import Para, Row
from formintake.extractors.normalize import normalize, normalize_phone, parse_date
from formintake.extractors.pdf import read_pdf
from formintake.fields import BY_KEY, CENTER_FUNCTIONS, ENTITY_NATURES, SERVICE_SCOPES, TECH_MEANS
from tests.test_extractors_build import box, build_items, to_docx, to_pdf


def codes(form):
    return [f.code for f in form.intake_findings]


@pytest.fixture(scope="module")
def docx_form():
    return to_docx(build_items("platform"))


@pytest.fixture(scope="module")
def pdf_form():
    return to_pdf(build_items("experience_center"))


# --------------------------------------------------------------------------------------------------
# intake codes: each triggered and not triggered

def test_clean_files_raise_no_intake_finding(docx_form, pdf_form):
    for data, name in ((docx_form, "a.docx"), (pdf_form, "a.pdf")):
        form = extractors.extract(data, name)
        assert codes(form) == []
        assert form.readable and form.extract_ms is not None


@pytest.mark.parametrize("data", [b"", b"%PD", b"PK\x03\x04" + b"\0" * 40])
def test_file_corrupt_empty_or_truncated(data):
    form = extractors.extract(data, "x.docx")
    assert codes(form) == ["FILE_CORRUPT"]
    assert not form.readable


def test_file_corrupt_truncated_docx_and_pdf(docx_form, pdf_form):
    assert codes(extractors.extract(docx_form[: len(docx_form) // 2], "a.docx")) == ["FILE_CORRUPT"]
    assert codes(extractors.extract(pdf_form[: len(pdf_form) * 2 // 5], "a.pdf")) == ["FILE_CORRUPT"]


def test_file_corrupt_bad_xml_in_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document><w:body><w:p>unclosed")
    assert codes(extractors.extract(buf.getvalue(), "a.docx")) == ["FILE_CORRUPT"]


def test_file_corrupt_broken_pdf_body():
    data = b"%PDF-1.4\n" + b"garbage " * 200 + b"\n%%EOF\n"
    assert codes(extractors.extract(data, "a.pdf")) == ["FILE_CORRUPT"]


def _ole(*streams: str) -> bytes:
    body = b"".join(s.encode("utf-16-le").ljust(64, b"\0") for s in streams)
    return bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504) + body.ljust(1024, b"\0")


def test_file_encrypted_docx_is_ole_with_encrypted_package():
    form = extractors.extract(_ole("EncryptionInfo", "EncryptedPackage"), "a.docx")
    assert codes(form) == ["FILE_ENCRYPTED"]


def test_legacy_doc_is_unsupported_not_encrypted(monkeypatch):
    monkeypatch.setenv("FORMINTAKE_SOFFICE", "none")  # no converter (tests/test_convert.py: with one)
    assert codes(extractors.extract(_ole("WordDocument", "1Table"), "a.doc")) == ["FILE_UNSUPPORTED_TYPE"]


def test_file_encrypted_pdf():
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=StandardEncryption("secret", ownerPassword="owner"))
    c.drawString(100, 700, "hello")
    c.save()
    assert codes(extractors.extract(buf.getvalue(), "a.pdf")) == ["FILE_ENCRYPTED"]


def test_pdf_with_owner_password_only_is_readable():
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=StandardEncryption("", ownerPassword="owner", canPrint=0))
    c.drawString(100, 700, "hello")
    c.save()
    assert "FILE_ENCRYPTED" not in codes(extractors.extract(buf.getvalue(), "a.pdf"))


def test_file_too_large_by_size(docx_form):
    form = extractors.extract(docx_form, "a.docx", size_limit_bytes=1000)
    assert codes(form) == ["FILE_TOO_LARGE"]
    assert codes(extractors.extract(docx_form, "a.docx", size_limit_bytes=2**20)) == []


def test_file_too_large_zip_bomb_not_unpacked(docx_form):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_form)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("word/media/big.bin", bytes(3 * 2**20))
    data = out.getvalue()
    assert len(data) < 2**20
    form = extractors.extract(data, "a.docx", size_limit_bytes=2 * 2**20)
    assert codes(form) == ["FILE_TOO_LARGE"]
    assert form.fields == {}


@pytest.mark.parametrize("data,name", [
    (b"GIF89a" + bytes(100), "a.gif"),
    (b"BM" + bytes(100), "a.bmp"),
    (b"just some text, not a form", "a.txt"),
])
def test_file_unsupported_type(data, name):
    assert codes(extractors.extract(data, name)) == ["FILE_UNSUPPORTED_TYPE"]


def test_xlsx_is_unsupported():
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["项目名称", "申报单位"])
    buf = io.BytesIO()
    wb.save(buf)
    assert codes(extractors.extract(buf.getvalue(), "申报书.xlsx")) == ["FILE_UNSUPPORTED_TYPE"]


def test_file_type_mismatch_is_a_warning_and_file_is_read_by_content(docx_form, pdf_form):
    form = extractors.extract(pdf_form, "申报书.docx")
    assert codes(form) == ["FILE_TYPE_MISMATCH"]
    assert form.file_type == "pdf" and form.readable
    assert form.value("center_name") == "星河信息消费体验馆"
    form = extractors.extract(docx_form, "申报书.pdf")
    assert codes(form) == ["FILE_TYPE_MISMATCH"] and form.file_type == "docx"
    assert form.value("platform_name") == "星河生活APP"
    for name in ("申报书", "申报书.DOCX"):
        assert codes(extractors.extract(docx_form, name)) == []


def _scan_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for y in range(100, 700, 40):
        c.rect(60, y, 470, 40)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_file_no_text():
    form = extractors.extract(_scan_pdf(), "scan.pdf")
    assert codes(form) == ["FILE_NO_TEXT"]  # and no FORM_UNRECOGNIZED on top of it
    assert form.intake_findings[0].severity == "error"


@pytest.mark.parametrize("data,name", [
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "scan.png"),
    (b"\xff\xd8\xff\xe0" + bytes(100), "scan.jpg"),
    (b"II*\x00" + bytes(100), "a.tif"),
])
def test_broken_scan_image_is_corrupt(data, name):
    """JPEG / PNG / TIFF are read by OCR now; bytes that only start like one are a broken image."""
    form = extractors.extract(data, name)
    assert codes(form) == ["FILE_CORRUPT"] and "图片" in form.intake_findings[0].message


def test_file_timeout(pdf_form, docx_form):
    assert "FILE_TIMEOUT" in codes(extractors.extract(pdf_form, "a.pdf", timeout_s=0))
    assert "FILE_TIMEOUT" in codes(extractors.extract(docx_form, "a.docx", timeout_s=0))
    assert "FILE_TIMEOUT" not in codes(extractors.extract(pdf_form, "a.pdf"))


def test_form_unrecognized():
    items = [("p", "关于召开2023年信息化工作推进会的通知"), ("p", "一、会议时间：2023年8月15日"),
             ("p", "二、会议地点：市政府第三会议室"), ("table", [["单位", "姓名", "职务"], ["市经信局", "李娜", "处长"]])]
    for data, name in ((to_docx(items), "a.docx"), (to_pdf(items), "a.pdf")):
        assert codes(extractors.extract(data, name)) == ["FORM_UNRECOGNIZED"]


def test_form_without_title_but_with_its_labels_is_recognized():
    items = build_items("platform", title=False, overrides={"申报方向": ""})
    items.insert(0, ("p", "申报方向：☑用户过亿信息消费大平台 ☐信息消费体验中心"))
    form = extractors.extract(to_docx(items), "a.docx")
    assert codes(form) == []
    assert form.direction == "platform"
    assert form.fields["direction"].evidence.method == "docx-paragraph"


def test_direction_ambiguous_when_not_stated():
    form = extractors.extract(to_docx(build_items("platform", title=False)), "a.docx")
    assert codes(form) == ["FORM_DIRECTION_AMBIGUOUS"]
    assert form.direction is None


def test_direction_ambiguous_when_title_and_checkbox_disagree():
    items = build_items("platform")
    items.insert(2, ("p", "申报方向：☐用户过亿信息消费大平台 ☑信息消费体验中心"))
    form = extractors.extract(to_docx(items), "a.docx")
    assert codes(form) == ["FORM_DIRECTION_AMBIGUOUS"]
    assert form.fields["direction"].state == "invalid"


def test_direction_title_and_agreeing_checkbox():
    items = build_items("experience_center")
    items.insert(2, ("p", "申报方向：□用户过亿信息消费大平台 ■信息消费体验中心"))
    form = extractors.extract(to_pdf(items), "a.pdf")
    assert codes(form) == []
    assert form.direction == "experience_center" and form.value("direction") == "experience_center"


def test_direction_in_title_line():
    items = build_items("experience_center", title=False)
    items.insert(0, ("p", "2023年新型信息消费示范项目申报书（信息消费体验中心方向）"))
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.direction == "experience_center"
    assert form.title == "2023年新型信息消费示范项目申报书(信息消费体验中心方向)"


# --------------------------------------------------------------------------------------------------
# normalisation

def _n(key, raw, unit=None):
    value, state, error = normalize(BY_KEY[key], raw, unit)
    return value if state == "ok" else state


@pytest.mark.parametrize("key,raw,unit,expected", [
    ("mau_prev_avg", "1.2亿", None, 120_000_000),
    ("mau_prev_avg", "12,000万", None, 120_000_000),
    ("mau_prev_avg", "12000万人", None, 120_000_000),
    ("mau_prev_avg", "一亿二千万", None, 120_000_000),
    ("mau_prev_avg", "三亿八千九百万", None, 389_000_000),
    ("mau_prev_avg", "120000000", None, 120_000_000),
    ("mau_prev_avg", "120,000,000人", None, 120_000_000),
    ("mau_prev_avg", "１．２亿", None, 120_000_000),
    ("mau_prev_avg", "12000", "万人", 120_000_000),
    ("mau_prev_avg", "1.2", "亿人", 120_000_000),
    ("mau_prev_avg", "3.8901", "万人", 38901),
    ("mau_prev_avg", "1亿2000万", None, 120_000_000),
    ("employees", "1200人", None, 1200),
    ("employees", "1,200", None, 1200),
    ("employees", "１２００", None, 1200),
    ("employees", "12.5", None, "invalid"),
    ("employees", "约1200人", None, 1200),
    ("annual_visitors", "12万人次", None, 120_000),
    ("registered_capital_wan", "5000", "万元", 5000.0),
    ("registered_capital_wan", "500万元", None, 500.0),
    ("registered_capital_wan", "5000万", None, 5000.0),
    ("revenue_prev_wan", "1.2亿元", None, 12000.0),
    ("revenue_prev_wan", "1.2亿", "万元", 12000.0),
    ("revenue_prev_wan", "12,345.6", None, 12345.6),
    ("revenue_prev_wan", "5000000元", None, 500.0),
    ("revenue_prev_wan", "5000000", "元", 500.0),
    ("revenue_prev_wan", "两千万元", None, 2000.0),
    ("revenue_prev_wan", "很多", None, "invalid"),
    ("area_sqm", "350㎡", None, 350.0),
    ("area_sqm", "350平方米", None, 350.0),
    ("area_sqm", "350 m²", None, 350.0),
    ("area_sqm", "1,288.8", "㎡", 1288.8),
    ("area_sqm", "1.2万平方米", None, 12000.0),
    ("mau_year", "2022年", None, 2022),
    ("mau_year", "2022", None, 2022),
    ("mau_year", "２０２２年度", None, 2022),
    ("mau_year", "去年", None, "invalid"),
    ("founded_on", "2023年8月30日", None, "2023-08-30"),
    ("founded_on", "２０２３年８月３０日", None, "2023-08-30"),
    ("founded_on", "2023.8.30", None, "2023-08-30"),
    ("founded_on", "2023-08-30", None, "2023-08-30"),
    ("founded_on", "2023/8/30", None, "2023-08-30"),
    ("founded_on", "2023 年 8 月 30 日", None, "2023-08-30"),
    ("founded_on", "二〇二三年八月三十日", None, "2023-08-30"),
    ("founded_on", "2015年13月32日", None, "invalid"),
    ("founded_on", "去年秋天", None, "invalid"),
    ("apply_date", "2023年 月 日", None, "placeholder"),
    ("apply_date", "    年  月  日", None, "placeholder"),
    ("apply_date", "", None, "missing"),
    ("contact_name", "请填写联系人姓名", None, "placeholder"),
    ("contact_name", "（填写联系人）", None, "placeholder"),
    ("legal_representative", "XXX", None, "placeholder"),
    ("legal_representative", "xxx", None, "placeholder"),
    ("legal_representative", "××", None, "placeholder"),
    ("project_name", "…", None, "placeholder"),
    ("project_name", "示例：某某平台项目", None, "placeholder"),
    ("project_name", "单击或点击此处输入文字。", None, "placeholder"),
    ("project_name", "   ", None, "missing"),
    ("project_name", "______", None, "missing"),
    ("project_name", "  智慧  生活\u3000平台  ", None, "智慧 生活 平台"),
    ("applicant_name_cover", "星河数字科技有限公司（盖章）", None, "星河数字科技有限公司"),
    ("applicant_name", "华润（集团）有限公司", None, "华润(集团)有限公司"),
    ("uscc", "９１１１０１０８ＭＡ０１ＡＢＣＤ２Ｘ", None, "91110108MA01ABCD2X"),
    ("uscc", "91110108ma01abcd2x", None, "91110108MA01ABCD2X"),
    ("uscc", "请填写18位代码", None, "placeholder"),
    ("contact_email", "ｌｉ＠ｘｉｎｇｈｅ．ｃｏｍ", None, "li@xinghe.com"),
    ("contact_email", "xxx@xxx.com", None, "placeholder"),
    ("postcode", "１００ ０８０", None, "100080"),
    ("contact_phone", "138 1234 5678", None, "13812345678"),
    ("contact_phone", "138-1234-5678", None, "13812345678"),
    ("contact_phone", "+86 138 1234 5678", None, "13812345678"),
    ("contact_phone", "010－12345678", None, "010-12345678"),
    ("contact_phone", "(010)12345678", None, "010-12345678"),
    ("contact_phone", "0512 - 6688 1234", None, "0512-66881234"),
    ("recommend_rank", "3", None, 3),
    ("summary", "本项目……打造了数字生活新场景。" * 3, None, "本项目……打造了数字生活新场景。" * 3),
])
def test_normalize_table(key, raw, unit, expected):
    assert _n(key, raw, unit) == expected


def test_invalid_carries_a_reason():
    value, state, error = normalize(BY_KEY["founded_on"], "2015年13月32日")
    assert (value, state) == (None, "invalid") and "日期" in error


def test_phone_and_date_helpers():
    assert normalize_phone("１３８ １２３４ ５６７８") == "13812345678"
    assert parse_date("填报于2023年9月1日") == "2023-09-01"
    assert parse_date("20230901") == "2023-09-01"


# --------------------------------------------------------------------------------------------------
# checkboxes

@pytest.mark.parametrize("text", [
    "☑民营企业 ☐国有企业 ☐其他",
    "☑ 民营企业  ☐ 国有企业",
    "■民营企业 □国有企业",
    "√民营企业 □国有企业",
    "✓民营企业 ☐国有企业",
    "☒民营企业 ☐国有企业",
    "[x]民营企业 [ ]国有企业",
    "[X] 民营企业 [ ] 国有企业",
    "(√)民营企业 ( )国有企业",
    "民营企业",
    "民营企业√ 国有企业□",
    "☐国有企业\n☐国有控股\n☑民营企业",
])
def test_checkbox_variants_read_the_same(text):
    assert read_choices(text, ENTITY_NATURES).chosen == ["民营企业"]
    assert _n("entity_nature", text) == "民营企业"


@pytest.mark.parametrize("text,expected", [
    (box(TECH_MEANS, {"5G", "大数据", "XR/虚拟现实"}), ["5G", "大数据", "XR/虚拟现实"]),
    (box(TECH_MEANS, {"XR/虚拟现实", "5G"}, "[x]", "[ ]"), ["5G", "XR/虚拟现实"]),
    ("大数据、5G、XR/虚拟现实", ["5G", "大数据", "XR/虚拟现实"]),  # deleted options, catalogue order
    (box(TECH_MEANS, {"其他"}).replace("☑其他", "☑其他：元宇宙"), ["其他"]),
])
def test_checkbox_sets(text, expected):
    assert _n("tech_means", text) == expected


def test_unticked_group_is_placeholder_and_double_tick_invalid():
    assert _n("service_scopes", box(SERVICE_SCOPES, set())) == "placeholder"
    assert _n("functions", "□展示 □体验 □销售 □培训") == "placeholder"
    value, state, error = normalize(BY_KEY["entity_nature"], "☑民营企业 ☑国有企业")
    assert state == "invalid" and "多个" in error
    assert _n("center_kind", "☑信息消费体验店") == "信息消费体验店"
    assert _n("functions", box(CENTER_FUNCTIONS, set(CENTER_FUNCTIONS))) == list(CENTER_FUNCTIONS)
    assert _n("entity_nature", "") == "missing"
    assert _n("entity_nature", "个体户") == "invalid"


# --------------------------------------------------------------------------------------------------
# labels

@pytest.mark.parametrize("label,key,unit,year", [
    ("联 系 人", "contact_name", None, None),
    ("邮  编：", "postcode", None, None),
    ("面积", "area_sqm", None, None),
    ("面积（平方米）", "area_sqm", "平方米", None),
    ("面积(㎡)", "area_sqm", "m2", None),  # NFKC spells ㎡ as m2
    ("体验中心面积（平方米）", "area_sqm", "平方米", None),
    ("员工总数(人)", "employees", "人", None),
    ("*注册资本（万元）", "registered_capital_wan", "万元", None),
    ("上一年度平均月活用户数（万人）", "mau_prev_avg", "万人", None),
    ("2022年平均月活用户数", "mau_prev_avg", None, 2022),
    ("2022年营业收入", "revenue_prev_wan", None, None),
    ("项目简介（不超过1000字）", "summary", None, None),
    ("E-mail", "contact_email", None, None),
    ("平台（APP、网站、小程序）名称", "platform_name", None, None),
])
def test_label_lookup(label, key, unit, year):
    hit = lookup_label(label)
    assert hit is not None and key in [s.key for s in hit.specs]
    assert (hit.unit, hit.year) == (unit, year)


def test_not_labels():
    for text in ("星河数字科技有限公司", "本单位承诺所填报信息真实", "", "2023年8月30日"):
        assert lookup_label(text) is None


# --------------------------------------------------------------------------------------------------
# docx layout

def test_docx_merged_cells_appear_once_with_grid_columns():
    items = [("table", [["单位名称", "星河公司", None, None], ["主要技术手段", "☑5G ☐大数据", None, None],
                        ["联系人", "李小红", "职务", "总监"], ["^", "x", "电子邮箱", "a@b.cn"]])]
    layout = read_docx(to_docx(items))
    rows = [b for b in layout.blocks if isinstance(b, Row)]
    assert [(c.text, c.col, c.span) for c in rows[0].cells] == [("单位名称", 0, 1), ("星河公司", 1, 3)]
    assert [c.col for c in rows[2].cells] == [0, 1, 2, 3]
    assert [c.text for c in rows[3].cells] == ["x", "电子邮箱", "a@b.cn"]  # vMerge continuation skipped
    assert [c.col for c in rows[3].cells] == [1, 2, 3]


def test_docx_four_column_rows(docx_form):
    form = extractors.extract(to_docx(build_items("platform", four_col=True)), "a.docx")
    assert codes(form) == []
    ev = form.fields["postcode"].evidence
    assert ev.method == "docx-table" and ev.table == 0 and ev.col in (1, 3)
    assert form.value("contact_name") == "李小红" and form.value("contact_title") == "总监"
    assert form.value("employees") == 1200 and form.value("rnd_staff") == 300


def test_docx_paragraph_labels_and_evidence(docx_form):
    form = extractors.extract(docx_form, "a.docx")
    fv = form.fields["applicant_name_cover"]
    assert fv.value == "星河数字科技有限公司" and fv.raw == "星河数字科技有限公司"
    assert fv.evidence.method == "docx-paragraph" and fv.evidence.paragraph == 3
    assert form.fields["applicant_name_commitment"].evidence.label == "申报单位（盖章）"
    assert form.value("commitment_date") == "2023-08-30" and form.value("recommender_date") == "2023-09-05"
    assert form.value("recommender_opinion") == "同意推荐。"
    ev = form.fields["uscc"].evidence
    assert (ev.method, ev.table, ev.row, ev.col, ev.label) == ("docx-table", 0, 1, 1, "统一社会信用代码")
    assert form.sections[:2] == ["一、申报单位基本情况", "二、项目基本情况"] and "申报单位承诺" in form.sections
    assert form.pages is None or form.pages >= 1
    assert form.file_type == "docx"


def _sdt_box(checked: bool) -> str:
    glyph = "☒" if checked else "☐"
    return ('<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
            'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"><w:sdtPr>'
            f'<w14:checkbox><w14:checked w14:val="{int(checked)}"/></w14:checkbox></w:sdtPr>'
            f'<w:sdtContent><w:r><w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>')


def _docx_with(builder) -> bytes:
    import docx

    d = docx.Document()
    d.add_paragraph("2023年新型信息消费示范项目申报书（信息消费体验中心方向）")
    d.add_paragraph("二、项目基本情况")
    builder(d)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_docx_content_control_checkboxes():
    from docx.oxml import parse_xml

    def build(d):
        t = d.add_table(rows=1, cols=2)
        t.cell(0, 0).text = "功能"
        p = t.cell(0, 1).paragraphs[0]
        for opt, on in (("展示", True), ("体验", False), ("销售", True), ("培训", False)):
            p._p.append(parse_xml(_sdt_box(on)))
            p.add_run(opt + " ")

    form = extractors.extract(_docx_with(build), "a.docx")
    fv = form.fields["functions"]
    assert fv.value == ["展示", "销售"]
    assert fv.raw.startswith("☑展示 ☐体验")
    assert fv.evidence.method == "docx-content-control" and (fv.evidence.table, fv.evidence.col) == (0, 1)


def test_docx_legacy_checkbox_wingdings_and_tracked_changes():
    from docx.oxml import parse_xml

    W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def build(d):
        p = d.add_paragraph()
        p.add_run("体验中心类型：")
        p._p.append(parse_xml(f'<w:r {W}><w:sym w:font="Wingdings 2" w:char="F052"/></w:r>'))
        p.add_run("信息消费体验店 ")
        p._p.append(parse_xml(f'<w:r {W}><w:rPr><w:rFonts w:ascii="Wingdings" w:hAnsi="Wingdings"/></w:rPr>'
                              f'<w:t>\u00a8</w:t></w:r>'))
        p.add_run("信息消费体验街区")
        q = d.add_paragraph()
        q.add_run("体验中心名称：星河")
        q._p.append(parse_xml(f'<w:del {W} w:id="1" w:author="a"><w:r><w:delText>旧名</w:delText></w:r></w:del>'))
        q._p.append(parse_xml(f'<w:ins {W} w:id="2" w:author="a"><w:r><w:t>体验馆</w:t></w:r></w:ins>'))
        r = d.add_paragraph()
        r.add_run("功能：")
        for opt, on in (("展示", 1), ("体验", 0)):
            r._p.append(parse_xml(
                f'<w:r {W}><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox><w:sizeAuto/>'
                f'<w:default w:val="{on}"/></w:checkBox></w:ffData></w:fldChar></w:r>'))
            r._p.append(parse_xml(f'<w:r {W}><w:instrText> FORMCHECKBOX </w:instrText></w:r>'))
            r._p.append(parse_xml(f'<w:r {W}><w:fldChar w:fldCharType="end"/></w:r>'))
            r.add_run(opt)

    form = extractors.extract(_docx_with(build), "a.docx")
    assert form.value("center_kind") == "信息消费体验店"
    assert form.value("center_name") == "星河体验馆"
    assert form.value("functions") == ["展示"]


def test_docx_tables_inside_content_controls_and_nested_tables():
    from docx.oxml import parse_xml

    def build(d):
        t = d.add_table(rows=1, cols=2)
        t.cell(0, 0).text = "体验中心名称"
        t.cell(0, 1).text = "星河体验馆"
        sdt = parse_xml('<w:sdt xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                        '<w:sdtPr/><w:sdtContent/></w:sdt>')
        t._tbl.addprevious(sdt)
        sdt[1].append(t._tbl)
        outer = d.add_table(rows=1, cols=1)
        inner = outer.cell(0, 0).add_table(rows=1, cols=2)
        inner.cell(0, 0).text = "所在城市"
        inner.cell(0, 1).text = "北京市"

    layout = read_docx(_docx_with(build))
    assert [b.cells[0].text.strip() for b in layout.blocks if isinstance(b, Row)] == ["体验中心名称", "", "所在城市"]
    form = extractors.extract(_docx_with(build), "a.docx")
    assert form.value("center_name") == "星河体验馆" and form.value("center_city") == "北京市"
    assert form.fields["center_city"].evidence.table == 2


# --------------------------------------------------------------------------------------------------
# PDF layout

def test_pdf_tables_lines_and_bbox_evidence(pdf_form):
    form = extractors.extract(pdf_form, "a.pdf")
    assert form.file_type == "pdf" and form.pages >= 2
    lab = form.fields["center_name"].evidence
    assert lab.method == "pdf-table" and lab.page >= 1 and lab.label == "体验中心名称"
    x0, top, x1, bottom = lab.bbox
    assert 0 < x0 < x1 < 600 and 0 < top < bottom < 850
    assert x0 > 150  # the value cell, right of the 120 pt label column
    cover = form.fields["project_name"].evidence
    assert cover.method == "pdf-text" and cover.page == 1
    # the bbox is the value's own, right of the label "项目名称："
    assert cover.bbox[0] > 100 and cover.bbox[2] - cover.bbox[0] > 50


def test_pdf_keeps_tick_glyphs_of_stsong_light(pdf_form):
    form = extractors.extract(pdf_form, "a.pdf")
    assert form.value("functions") == list(CENTER_FUNCTIONS)
    assert form.value("center_kind") == "信息消费体验店"
    assert "☐" in form.fields["tech_means"].raw and "☑" in form.fields["tech_means"].raw
    assert form.value("tech_means") == ["5G", "人工智能", "大数据"]


def test_pdf_layout_blocks_in_reading_order(pdf_form):
    layout = read_pdf(pdf_form)
    assert isinstance(layout.blocks[0], Para) and layout.blocks[0].text.startswith("2023年新型")
    rows = [b for b in layout.blocks if isinstance(b, Row)]
    assert rows[0].cells[0].text == "单位名称" and rows[0].cells[1].col == 1
    assert all(len(b.boxes) == len(b.text) for b in layout.blocks if isinstance(b, Para))


def test_pdf_merged_cells_once():
    items = [("p", "2023年新型信息消费示范项目申报书（用户过亿信息消费大平台方向）"),
             ("table", [["联系人", "李小红", "职务", "总监"], ["主营业务", "互联网信息服务", None, None]])]
    layout = read_pdf(to_pdf(items))
    rows = [b for b in layout.blocks if isinstance(b, Row)]
    assert [(c.text, c.col, c.span) for c in rows[1].cells] == [("主营业务", 0, 1), ("互联网信息服务", 1, 3)]


# --------------------------------------------------------------------------------------------------
# assembly: labels by text, sections, units

def test_same_values_from_both_formats_and_layouts():
    for direction in ("platform", "experience_center"):
        forms = [extractors.extract(to_docx(build_items(direction, four_col=fc)), "a.docx") for fc in (0, 1)]
        forms += [extractors.extract(to_pdf(build_items(direction, four_col=fc)), "a.pdf") for fc in (0, 1)]
        ref = {k: fv.value for k, fv in forms[0].fields.items()}
        for f in forms[1:]:
            assert {k: fv.value for k, fv in f.fields.items()} == ref
        assert all(fv.state == "ok" and fv.evidence is not None for fv in forms[0].fields.values())


def test_shared_labels_resolve_by_section():
    items = build_items("experience_center", overrides={"项目上线（开业）时间": "2020-05-01"})
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.value("start_date") == "2020-05-01" and form.value("opened_on") == "2021-10-01"
    assert form.value("applicant_name_cover") == form.value("applicant_name_commitment") == "星河数字科技有限公司"
    assert form.value("legal_representative") == form.value("commitment_signatory") == "王大明"


def test_units_and_year_in_labels():
    items = build_items("platform")
    tbl = items[items.index(("p", "二、项目基本情况")) + 1][1]
    for row in tbl:
        if row[0] == "上一年度平均月活用户数":
            row[0], row[1] = "2022年平均月活用户数（万人）", "12,000"
    tbl[:] = [r for r in tbl if r[0] != "月活统计年度"]
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.value("mau_prev_avg") == 120_000_000
    assert form.value("mau_year") == 2022


def test_empty_labels_are_missing_and_absent_labels_absent():
    items = build_items("platform", overrides={"职务": "", "申报日期": "2023年 月 日", "联系人": "请填写"},
                        drop=("邮政编码",))
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.fields["contact_title"].state == "missing"
    assert form.fields["apply_date"].state == "placeholder"
    assert form.fields["contact_name"].state == "placeholder" and form.fields["contact_name"].value is None
    assert "postcode" not in form.fields


def test_other_direction_fields_are_extracted_too():
    items = build_items("platform")
    tbl = items[items.index(("p", "二、项目基本情况")) + 1][1]
    tbl += [["体验中心名称", "星河体验馆"], ["开业时间", "2021年10月1日"]]
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.direction == "platform"
    assert form.value("center_name") == "星河体验馆" and form.value("opened_on") == "2021-10-01"
    assert form.value("start_date") == "2020-05-01"


def test_narrative_sections_do_not_overwrite_fields():
    items = build_items("platform")
    at = items.index(("p", "三、项目主要内容"))
    items.insert(at + 1, ("p", "一、建设内容"))
    items.insert(at + 2, ("p", "联系人：王五"))
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.value("contact_name") == "李小红"
    assert form.sections[2] == "三、项目主要内容" and "一、建设内容" not in form.sections


def test_cover_line_with_two_labels_and_commitment_line_with_date():
    items = build_items("platform")
    items[3] = ("p", "申报单位（盖章）：星河数字科技有限公司    推荐单位：北京市经济和信息化局")
    i = items.index(("p", "法定代表人（签字）：王大明"))
    items[i] = ("p", "法定代表人（签字）：王大明    日期：2023年8月31日")
    items.remove(("p", "2023年8月30日"))
    form = extractors.extract(to_pdf(items), "a.pdf")
    assert form.value("applicant_name_cover") == "星河数字科技有限公司"
    assert form.value("recommender") == "北京市经济和信息化局"
    assert form.value("commitment_signatory") == "王大明"
    assert form.value("commitment_date") == "2023-08-31"


def test_extract_never_raises(monkeypatch, docx_form):
    from formintake import extractors as ex

    def boom(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setitem(ex.BACKENDS, "docx", boom)
    form = ex.extract(docx_form, "a.docx")
    # our bug, not the applicant's broken file (issue 8): INTERNAL_ERROR with the traceback for the log
    assert codes(form) == ["INTERNAL_ERROR"]
    assert "RuntimeError: bug" in form.internal_traceback


@pytest.mark.parametrize("text", ["无", "暂无", "/", "—", "不适用"])
def test_nothing_to_state_is_missing(text):
    assert _n("demo_city", text) == "missing"
    assert _n("registered_capital_wan", text) == "missing"


def test_commitment_and_opinion_as_table_rows():
    items = [it for it in build_items("platform") if it[0] != "p" or not (
        it[1].startswith(("法定代表人（签字）", "申报单位（盖章）", "推荐单位")) or it[1] in (
            "申报单位承诺", "本单位承诺所填报信息真实、准确。", "2023年8月30日", "同意推荐。", "2023年9月5日"))]
    items.append(("table", [
        ["申报单位承诺", "本单位承诺所填报信息真实、准确。\n法定代表人（签字）：王大明\n申报单位（盖章）：星河数字科技有限公司\n2023年8月30日"],
        ["推荐单位意见", "同意推荐。\n推荐单位（盖章）\n2023年9月5日"],
    ]))
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.value("commitment_signatory") == "王大明"
    assert form.value("applicant_name_commitment") == "星河数字科技有限公司"
    assert form.value("commitment_date") == "2023-08-30"
    assert form.value("recommender_opinion") == "同意推荐。"
    assert form.value("recommender_date") == "2023-09-05"
    assert form.fields["recommender_date"].evidence.table is not None


def test_checkbox_label_without_colon_in_one_cell():
    items = build_items("platform", drop=("单位性质", "成立时间"))
    items.insert(8, ("table", [["单位性质 ☐民营企业 ☑国有企业", "成立时间：2015年3月2日"]]))
    form = extractors.extract(to_docx(items), "a.docx")
    assert form.value("entity_nature") == "国有企业"
    assert form.value("founded_on") == "2015-03-02"


def test_pdf_table_drawn_inside_a_form_xobject():
    from reportlab.pdfgen import canvas

    from tests.test_extractors_build import _font

    font = _font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont(font, 12)
    c.drawString(72, 780, "2023年新型信息消费示范项目申报书（用户过亿信息消费大平台方向）")
    c.beginForm("grid")
    c.setFont(font, 10)
    for y in (600, 620, 640):
        c.line(72, y, 472, y)
    for x in (72, 200, 472):
        c.line(x, 600, x, 640)
    c.drawString(76, 626, "平台名称")
    c.drawString(204, 626, "星河生活APP")
    c.drawString(76, 606, "注册用户数")
    c.drawString(204, 606, "3亿")
    c.endForm()
    c.saveState()
    c.translate(10, -200)  # the form is placed 200 pt lower
    c.doForm("grid")
    c.restoreState()
    c.showPage()
    c.save()
    form = extractors.extract(buf.getvalue(), "a.pdf")
    assert form.value("platform_name") == "星河生活APP" and form.value("registered_users") == 300_000_000
    ev = form.fields["platform_name"].evidence
    assert ev.method == "pdf-table"
    x0, top, x1, bottom = ev.bbox
    assert abs(x0 - 210) < 2 and abs(x1 - 482) < 2  # translated by 10 pt
    assert abs(top - (842 - 440)) < 2 and abs(bottom - (842 - 420)) < 2


def test_cover_labels_without_colon_and_values_on_the_next_line():
    items = build_items("platform")
    items[3] = ("p", "申报单位（盖章）    星河数字科技有限公司")
    tbl_at = items.index(("p", "一、申报单位基本情况"))
    items.insert(tbl_at + 1, ("p", "主营业务"))
    items.insert(tbl_at + 2, ("p", "互联网信息服务与数字内容运营"))
    items.insert(tbl_at + 3, ("p", "职务"))
    items.insert(tbl_at + 4, ("p", "联系人：赵六"))
    for data, name in ((to_docx(items), "a.docx"), (to_pdf(items), "a.pdf")):
        form = extractors.extract(data, name)
        assert form.value("applicant_name_cover") == "星河数字科技有限公司", name
        assert form.value("main_business") == "互联网信息服务与数字内容运营", name
        # "职务" with nothing under it was blank; the table's value replaces a blank, the first value wins
        assert form.value("contact_title") == "总监" and form.value("contact_name") == "赵六", name
