"""What Word, WPS and LibreOffice write: raw WordprocessingML in, the accepted reading out.

Forms come from :mod:`formintake.samples.wordml` (a generated form written part by part with tracked
changes, legacy form fields, text boxes …) and are compared with the truth of the clean original;
single constructs are written as raw XML snippets, each read both ways (the construct present and
absent, or in its two states).
"""

from __future__ import annotations

import io
import zipfile

import pytest

from formintake import extractors
from formintake.extractors.docx import read_docx
from formintake.extractors.layout import Para, Row
from formintake.samples.render import RenderStyle, render_docx
from formintake.samples.values import base_values, truth_of
from formintake.samples.wordml import WordMarkup, docx_from_body, render_wordml

FLAGS = ("tracked", "form_fields", "text_box", "split_runs", "hyperlink", "merge_field", "tails", "one_cell")
TITLE = ('<w:p><w:r><w:t>2023年新型信息消费示范项目申报书</w:t></w:r></w:p>'
         '<w:p><w:r><w:t>（信息消费体验中心方向）</w:t></w:r></w:p>')


def codes(form):
    return [f.code for f in form.intake_findings]


def values_of(form):
    return {k: fv.value for k, fv in form.fields.items()}


def diff(truth, form):
    got = values_of(form)
    return {k: (truth.get(k), got.get(k)) for k in set(truth) | set(got) if truth.get(k) != got.get(k)}


def p(*runs: str, ppr: str = "") -> str:
    return f"<w:p>{ppr}{''.join(runs)}</w:p>"


def r(text: str, rpr: str = "") -> str:
    return f'<w:r>{f"<w:rPr>{rpr}</w:rPr>" if rpr else ""}<w:t xml:space="preserve">{text}</w:t></w:r>'


def doc_text(body: str) -> list[str]:
    layout = read_docx(docx_from_body(body))
    return [b.text if isinstance(b, Para) else " | ".join(c.text for c in b.cells) for b in layout.blocks]


def form_of(body: str):
    return extractors.extract(docx_from_body(TITLE + body), "a.docx")


# --------------------------------------------------------------------------------------------------
# whole forms with Word's markup: the same fields as the clean original

@pytest.mark.parametrize("direction,style,boxes", [
    ("platform", RenderStyle(), "formcheckbox"),
    ("experience_center", RenderStyle(table_columns=4, tick_space=True, direction_checkbox=True), "formcheckbox"),
    ("platform", RenderStyle(table_columns=4, labels="variant", dates="dot"), "sym"),
    ("experience_center", RenderStyle(merge_long=True, spaced_labels=True), "wps"),
    ("platform", RenderStyle(direction_checkbox=True, title="in_title"), "glyph"),
    ("experience_center", RenderStyle(table_columns=4), "eq"),
])
def test_word_markup_form_reads_like_the_clean_original(direction, style, boxes):
    v = base_values(direction, 11)
    truth = truth_of(v)
    clean = extractors.extract(render_docx(v, style), "clean.docx")
    marked = extractors.extract(render_wordml(v, style, WordMarkup(boxes=boxes)), "word.docx")
    assert codes(marked) == [] and diff(truth, marked) == {}
    assert values_of(marked) == values_of(clean)


@pytest.mark.parametrize("flag", FLAGS)
def test_each_word_construct_alone(flag):
    v = base_values("platform", 5)
    mk = WordMarkup(**{f: f == flag for f in FLAGS})
    data = render_wordml(v, RenderStyle(table_columns=4), mk)
    form = extractors.extract(data, "a.docx")
    assert diff(truth_of(v), form) == {}
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    marker = {"tracked": "<w:del ", "form_fields": "FORMTEXT", "text_box": "<v:textbox>",
              "split_runs": "commentReference", "hyperlink": "<w:hyperlink ", "merge_field": "MERGEFIELD",
              "tails": '<w:u w:val="single"/>', "one_cell": "联系电话："}[flag]
    assert marker in xml  # the construct really is in the file


def test_wordml_package_is_what_word_writes():
    data = render_wordml(base_values("platform", 2))
    z = zipfile.ZipFile(io.BytesIO(data))
    doc = z.read("word/document.xml").decode()
    assert 'mc:Ignorable="w14 w15 w16se wp14"' in doc and 'w:rsidR="' in doc
    assert "<w:trackRevisions/>" in z.read("word/settings.xml").decode()
    assert "请核实此项" in z.read("word/comments.xml").decode()
    assert 'TargetMode="External"' in z.read("word/_rels/document.xml.rels").decode()
    import docx  # python-docx opens it too

    assert docx.Document(io.BytesIO(data)).paragraphs


# --------------------------------------------------------------------------------------------------
# single constructs, each both ways

def test_tracked_insertions_kept_deletions_and_moves_dropped():
    ins = '<w:ins w:id="1" w:author="a" w:date="2023-08-28T10:15:00Z">'
    body = p(r("体验中心名称：星河"), '<w:del w:id="2" w:author="a"><w:r><w:delText>旧名</w:delText></w:r></w:del>',
             ins + r("体验馆") + "</w:ins>",
             '<w:moveFrom w:id="3" w:author="a">' + r("（移走）") + "</w:moveFrom>")
    body += p(r("所在城市：北京市"), '<w:moveTo w:id="4" w:author="a">' + r("朝阳区") + "</w:moveTo>")
    form = form_of(body)
    assert form.value("center_name") == "星河体验馆"
    assert form.value("center_city") == "北京市朝阳区"


def test_deleted_paragraph_mark_joins_label_and_value():
    mark = '<w:pPr><w:rPr><w:del w:id="9" w:author="a" w:date="2023-08-28T10:15:00Z"/></w:rPr></w:pPr>'
    joined = form_of(p(r("体验中心名称："), ppr=mark) + p(r("星河体验馆")))
    assert joined.value("center_name") == "星河体验馆"
    kept = form_of(p(r("体验中心名称：")) + p(r("星河体验馆")))  # no tracked deletion: two paragraphs
    assert kept.value("center_name") is None
    cell = (f"<w:tbl><w:tblGrid><w:gridCol/></w:tblGrid><w:tr><w:tc>{p(r('联系电话：138'), ppr=mark)}"
            f"{p(r('1234 5678'))}</w:tc></w:tr></w:tbl>")
    assert doc_text(cell) == ["联系电话：1381234 5678"]
    assert doc_text(cell.replace(mark, "")) == ["联系电话：138\n1234 5678"]


def test_deleted_table_row_is_gone_inserted_row_kept():
    def row(label, value, trpr=""):
        return f"<w:tr>{trpr}<w:tc>{p(r(label))}</w:tc><w:tc>{p(r(value))}</w:tc></w:tr>"

    tbl = ("<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid>"
           + row("体验中心名称", "旧体验馆", '<w:trPr><w:del w:id="5" w:author="a"/></w:trPr>')
           + row("体验中心名称", "星河体验馆")
           + row("所在城市", "北京市", '<w:trPr><w:ins w:id="6" w:author="a"/></w:trPr>') + "</w:tbl>")
    form = form_of(p(r("二、项目基本情况")) + tbl)
    assert form.value("center_name") == "星河体验馆" and form.value("center_city") == "北京市"
    assert form.fields["center_name"].evidence.row == 0  # rows counted as accepted
    live = form_of(p(r("二、项目基本情况")) + tbl.replace('<w:trPr><w:del w:id="5" w:author="a"/></w:trPr>', ""))
    assert live.value("center_name") == "旧体验馆"  # the same row, not deleted: first value wins
    cells = (f"<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid><w:tr><w:tc>{p(r('所在城市'))}</w:tc>"
             f"<w:tc><w:tcPr><w:cellDel w:id=\"7\" w:author=\"a\"/></w:tcPr>{p(r('南京市'))}</w:tc>"
             f"<w:tc>{p(r('北京市'))}</w:tc></w:tr></w:tbl>")
    assert form_of(p(r("二、项目基本情况")) + cells).value("center_city") == "北京市"
    assert form_of(p(r("二、项目基本情况")) + cells.replace("<w:cellDel", "<w:cellIns")).value("center_city") == "南京市 北京市"


def test_comments_bookmarks_proof_errors_smart_tags_and_split_runs():
    body = p('<w:bookmarkStart w:id="0" w:name="_Hlk1"/>', r("联系电话："), '<w:commentRangeStart w:id="1"/>',
             '<w:proofErr w:type="spellStart"/>', r("138", "<w:b/>"),
             '<w:smartTag w:uri="urn:schemas-microsoft-com:office:smarttags" w:element="phone">'
             '<w:smartTagPr><w:attr w:name="x" w:val="999"/></w:smartTagPr>', r("1234", '<w:color w:val="FF0000"/>'),
             "</w:smartTag>", '<w:customXml w:element="tail"><w:customXmlPr><w:placeholder w:val="请填写"/>'
             "</w:customXmlPr>", r("5678", "<w:i/>"), "</w:customXml>", '<w:proofErr w:type="spellEnd"/>',
             '<w:commentRangeEnd w:id="1"/><w:r><w:commentReference w:id="1"/></w:r><w:bookmarkEnd w:id="0"/>')
    assert doc_text(body) == ["联系电话：13812345678"]
    assert form_of(p(r("一、申报单位基本情况")) + body).value("contact_phone") == "13812345678"


def _textbox(inner: str, fallback: bool = True) -> str:
    box = f"<w:txbxContent>{inner}</w:txbxContent>"
    choice = ('<mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic xmlns:a="http://schemas.openxmlformats.org/'
              'drawingml/2006/main"><a:graphicData><wps:wsp><wps:txbx>' + box +
              "</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>")
    fb = f"<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>"
    return f"<w:r><mc:AlternateContent>{choice}{fb if fallback else ''}</mc:AlternateContent></w:r>"


def test_text_box_read_once_with_its_vml_fallback():
    inner = p(r("体验中心名称：星河体验馆"))
    assert doc_text(p(r("封面"), _textbox(inner))) == ["封面", "体验中心名称：星河体验馆"]
    assert doc_text(p(_textbox(inner, fallback=False))) == ["", "体验中心名称：星河体验馆"]
    vml_only = p(f"<w:r><w:pict><v:shape><v:textbox><w:txbxContent>{inner}</w:txbxContent></v:textbox></v:shape>"
                 "</w:pict></w:r>")  # Word 2003 / LibreOffice: VML without AlternateContent
    assert doc_text(vml_only) == ["", "体验中心名称：星河体验馆"]


def test_table_inside_a_text_box_keeps_its_cells():
    tbl = (f"<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid><w:tr><w:tc>{p(r('体验中心名称'))}</w:tc>"
           f"<w:tc>{p(r('星河体验馆'))}</w:tc></w:tr></w:tbl>")
    form = form_of(p(r("二、项目基本情况")) + p(_textbox(tbl + p(""))))
    assert form.value("center_name") == "星河体验馆"
    assert form.fields["center_name"].evidence.method == "docx-table"


def _formtext(value: str, default: str = "（请填写）") -> str:
    return ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Text1"/><w:enabled/>'
            f'<w:calcOnExit w:val="0"/><w:textInput><w:default w:val="{default}"/></w:textInput></w:ffData>'
            '</w:fldChar></w:r><w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
            f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{r(value)}<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def _checkbox(state: str) -> str:
    return ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/><w:enabled/>'
            f'<w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/>{state}</w:checkBox></w:ffData></w:fldChar></w:r>'
            '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def test_legacy_form_fields_text_and_checkboxes():
    assert doc_text(p(r("所在城市："), _formtext("北京市"))) == ["所在城市：北京市"]
    blank = "\u2002" * 5  # Word's empty FORMTEXT: five en spaces, the default is never the value
    assert form_of(p(r("所在城市："), _formtext(blank))).value("center_city") is None
    states = {
        '<w:default w:val="1"/>': "☑", '<w:default w:val="0"/>': "☐", "<w:default/>": "☑",
        '<w:default w:val="0"/><w:checked/>': "☑", '<w:default w:val="1"/><w:checked w:val="0"/>': "☐",
        '<w:default w:val="0"/><w:checked w:val="1"/>': "☑",
    }
    for state, glyph in states.items():
        assert doc_text(p(_checkbox(state), r("展示"))) == [glyph + "展示"], state
    body = p(r("功能："), _checkbox('<w:default w:val="0"/><w:checked/>'), r("展示 "),
             _checkbox('<w:default w:val="1"/><w:checked w:val="0"/>'), r("体验"))
    assert form_of(p(r("二、项目基本情况")) + body).value("functions") == ["展示"]


def test_form_dropdown_shows_its_chosen_entry():
    dd = ('<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Dropdown1"/><w:enabled/><w:ddList>'
          '<w:result w:val="{i}"/><w:listEntry w:val="国有企业"/><w:listEntry w:val="民营企业"/></w:ddList></w:ffData>'
          '</w:fldChar></w:r><w:r><w:instrText xml:space="preserve"> FORMDROPDOWN </w:instrText></w:r>'
          '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    assert doc_text(p(r("单位性质："), dd.replace("{i}", "1"))) == ["单位性质：民营企业"]
    assert doc_text(p(r("单位性质："), dd.replace("{i}", "0"))) == ["单位性质：国有企业"]


def test_fields_read_their_result_never_their_instruction():
    def field(instr: str, result: str) -> str:
        return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                f'<w:r><w:instrText xml:space="preserve">{instr}</w:instrText></w:r>'
                f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{result}<w:r><w:fldChar w:fldCharType="end"/></w:r>')

    mail = field(' HYPERLINK "mailto:li@xinghe.com" ', r("li@xinghe.com", '<w:rStyle w:val="Hyperlink"/>'))
    assert doc_text(p(r("电子邮箱："), mail)) == ["电子邮箱：li@xinghe.com"]
    merge = field(" MERGEFIELD 联系人 \\* MERGEFORMAT ", r("李小红"))
    assert doc_text(p(r("联系人："), merge)) == ["联系人：李小红"]
    # a field inside another field's instruction: only the outer result is shown
    nested = ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> IF </w:instrText></w:r>'
              + field(" MERGEFIELD 单位性质 ", r("民营")) +
              '<w:r><w:instrText> = "民营" "民营企业" "其他" </w:instrText></w:r>'
              '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + r("民营企业") +
              '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    assert doc_text(p(r("单位性质："), nested)) == ["单位性质：民营企业"]
    simple = '<w:fldSimple w:instr=" MERGEFIELD 所在城市 ">' + r("北京市") + "</w:fldSimple>"
    assert doc_text(p(r("所在城市："), simple)) == ["所在城市：北京市"]
    link = '<w:hyperlink r:id="rId100" w:history="1">' + r("li@xinghe.com", '<w:rStyle w:val="Hyperlink"/>') + "</w:hyperlink>"
    form = form_of(p(r("一、申报单位基本情况")) + p(r("电子邮箱："), link))
    assert form.value("contact_email") == "li@xinghe.com"


@pytest.mark.parametrize("xml,glyph", [
    ('<w:sym w:font="Wingdings" w:char="F0FE"/>', "☑"), ('<w:sym w:font="Wingdings" w:char="F0A8"/>', "☐"),
    ('<w:sym w:font="Wingdings" w:char="F06F"/>', "☐"), ('<w:sym w:font="Wingdings" w:char="F0FD"/>', "☑"),
    ('<w:sym w:font="Wingdings 2" w:char="F052"/>', "☑"), ('<w:sym w:font="Wingdings 2" w:char="F0A3"/>', "☐"),
    ('<w:sym w:font="Wingdings 2" w:char="F054"/>', "☑"), ('<w:sym w:font="Wingdings 2" w:char="00A3"/>', "☐"),
    ('<w:sym w:font="Symbol" w:char="F0D6"/>', "√"), ('<w:sym w:font="MS Gothic" w:char="2612"/>', "☒"),
    ('<w:sym w:font="Wingdings" w:char="F04A"/>', ""),  # a smiley: no text
    ('<w:rPr><w:rFonts w:ascii="Wingdings 2" w:hAnsi="Wingdings 2"/></w:rPr><w:t>R</w:t>', "☑"),  # WPS
    ('<w:rPr><w:rFonts w:ascii="Wingdings 2" w:hAnsi="Wingdings 2"/></w:rPr><w:t>\u00a3</w:t>', "☐"),
    ("<w:t>■</w:t>", "■"), ("<w:t>□</w:t>", "□"),
    # the symbol font named in any of the four slots, in any letter case (the reader looks for symbol
    # fonts in the whole document first, case-insensitively, and reads runs' fonts only when there is one)
    ('<w:rPr><w:rFonts w:eastAsia="WINGDINGS 2"/></w:rPr><w:t>R</w:t>', "☑"),
    ('<w:rPr><w:rFonts w:ascii="宋体" w:cs="wingDings"/></w:rPr><w:t>þ</w:t>', "☑"),
    ('<w:rPr><w:rFonts w:hAnsi="SYMBOL"/></w:rPr><w:t>Ö</w:t>', "√"),
    ('<w:rPr><w:rFonts w:ascii="宋体" w:hAnsi="Arial"/></w:rPr><w:t>Rþ</w:t>', "Rþ"),  # no symbol font
])
def test_checkbox_glyphs(xml, glyph):
    assert doc_text(p(f"<w:r>{xml}</w:r>", r("展示"))) == [glyph + "展示"]


def test_symbol_font_of_one_run_among_plain_ones():
    """A run's symbol font is read even when the rest of the document names none."""
    plain = r("功能：")
    tick = '<w:r><w:rPr><w:rFonts w:ascii="Wingdings 2" w:hAnsi="Wingdings 2"/></w:rPr><w:t>R</w:t></w:r>'
    assert doc_text(p(plain, tick, r("展示 "), '<w:r><w:t>R</w:t></w:r>', r("体验"))) == ["功能：☑展示 R体验"]


def test_enclosed_character_tick_is_an_eq_field_without_result():
    def eq(inner: str) -> str:  # Word's 带圈字符: √ enclosed in □
        return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">eq \\o\\ac(</w:instrText>'
                '</w:r><w:r><w:rPr><w:position w:val="-4"/><w:sz w:val="31"/></w:rPr><w:instrText>□</w:instrText></w:r>'
                f'<w:r><w:instrText xml:space="preserve">,{inner})</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>')

    assert doc_text(p(eq("√"), r("展示 "), eq(" "), r("体验"))) == ["☑展示 ☐体验"]
    form = form_of(p(r("二、项目基本情况")) + p(r("功能："), eq("√"), r("展示 "), eq(" "), r("体验 "), eq("√"), r("销售")))
    assert form.value("functions") == ["展示", "销售"]
    page = ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
    assert doc_text(p(r("第"), page, r("页"))) == ["第页"]  # other fields without a result show nothing


def test_sym_ticks_choose_options():
    on, off = '<w:r><w:sym w:font="Wingdings" w:char="F0FE"/></w:r>', '<w:r><w:sym w:font="Wingdings" w:char="F0A8"/></w:r>'
    form = form_of(p(r("二、项目基本情况")) + p(r("功能："), on, r("展示 "), off, r("体验 "), on, r("销售")))
    assert form.value("functions") == ["展示", "销售"]


def test_values_with_underline_runs_and_underscore_tails():
    blank = r("          ", '<w:u w:val="single"/>')
    form = form_of(p(r("一、申报单位基本情况")) + p(r("联系人："), r("李小红"), blank) + p(r("邮政编码：100080____")))
    assert form.value("contact_name") == "李小红" and form.value("postcode") == "100080"
    assert form_of(p(r("一、申报单位基本情况")) + p(r("联系人："), blank)).fields["contact_name"].state == "missing"


def test_label_and_value_typed_into_one_cell_of_a_four_column_row():
    def tc(text, span=1):
        gs = f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
        return f"<w:tc><w:tcPr>{gs}</w:tcPr>{p(r(text))}</w:tc>"

    grid = "<w:tblGrid>" + "<w:gridCol/>" * 4 + "</w:tblGrid>"
    tbl = f"<w:tbl>{grid}<w:tr>{tc('职务')}{tc('总监')}{tc('联系电话：138 1234 5678', 2)}</w:tr></w:tbl>"
    form = form_of(p(r("一、申报单位基本情况")) + tbl)
    assert form.value("contact_title") == "总监" and form.value("contact_phone") == "13812345678"
    plain = f"<w:tbl>{grid}<w:tr>{tc('职务')}{tc('总监')}{tc('联系电话')}{tc('138 1234 5678')}</w:tr></w:tbl>"
    assert values_of(form_of(p(r("一、申报单位基本情况")) + plain)) == values_of(form)


# --------------------------------------------------------------------------------------------------
# readable files that used to be called corrupt (issue 8)

def test_text_node_over_lxml_10mb_limit_is_read():
    big = "示范" * 1_800_000  # one w:t of 10.8 MB (UTF-8): over libxml2's 10 MB text limit, under the size limit
    form = form_of(p(r("一、申报单位基本情况")) + p(r("二、项目基本情况")) + p(r("体验中心名称：星河体验馆"))
                   + p(r("三、项目主要内容")) + p(r(big)))
    assert codes(form) == [] and form.value("center_name") == "星河体验馆"


def test_strict_ooxml_docx_is_read():
    v = base_values("platform", 4)
    clean = render_wordml(v, markup=WordMarkup(text_box=False))
    body = zipfile.ZipFile(io.BytesIO(clean)).read("word/document.xml").decode()
    body = body[body.index("<w:body>") + 8: body.index("</w:body>")]
    data = docx_from_body(body, strict=True)
    z = zipfile.ZipFile(io.BytesIO(data))
    assert b"purl.oclc.org/ooxml/wordprocessingml/main" in z.read("word/document.xml")
    assert b"purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" in z.read("_rels/.rels")
    form = extractors.extract(data, "strict.docx")
    assert codes(form) == [] and diff(truth_of(v), form) == {}


def test_docx_with_pdf_magic_in_its_first_kib_is_a_docx():
    body = TITLE + p(r("体验中心名称：星河体验馆"))
    src = zipfile.ZipFile(io.BytesIO(docx_from_body(body)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:  # an embedded PDF stored first (as some writers order parts)
        z.writestr("word/embeddings/附件1.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
                   compress_type=zipfile.ZIP_STORED)
        for name in src.namelist():
            z.writestr(name, src.read(name), compress_type=zipfile.ZIP_DEFLATED)
    data = out.getvalue()
    assert b"%PDF-" in data[:1024]
    form = extractors.extract(data, "a.docx")
    assert form.file_type == "docx" and codes(form) == [] and form.value("center_name") == "星河体验馆"
    pdf_with_junk_before = b"\r\n" * 10 + b"%PDF-1.4 ..."  # a PDF header after a little junk is still a PDF
    from formintake.extractors.sniff import sniff

    assert sniff(pdf_with_junk_before, "a.pdf").kind == "pdf"


def _nested_tables(depth: int) -> str:
    inner = p(r("所在城市：北京市"))
    for _ in range(depth):
        inner = f"<w:tbl><w:tblGrid><w:gridCol/></w:tblGrid><w:tr><w:tc>{inner}{p('')}</w:tc></w:tr></w:tbl>"
    return inner


def test_tables_nested_past_256_levels_are_read():
    form = form_of(p(r("二、项目基本情况")) + _nested_tables(300) + p(""))
    assert codes(form) == [] and form.value("center_city") == "北京市"
    assert form.fields["center_city"].evidence.table == 299


def test_nesting_beyond_any_limit_is_too_deep_not_corrupt():
    form = form_of(_nested_tables(800) + p(""))
    assert codes(form) == ["FILE_TOO_LARGE"]
    assert "嵌套" in form.intake_findings[0].message and "损坏" not in form.intake_findings[0].message


def test_main_part_found_through_the_package_relationship():
    v = base_values("experience_center", 6)
    body = zipfile.ZipFile(io.BytesIO(render_wordml(v))).read("word/document.xml").decode()
    body = body[body.index("<w:body>") + 8: body.index("</w:body>")]
    data = docx_from_body(body, main_part="word/document2.xml")
    assert "word/document.xml" not in zipfile.ZipFile(io.BytesIO(data)).namelist()
    form = extractors.extract(data, "a.docx")
    assert codes(form) == [] and diff(truth_of(v), form) == {}
    # no relationship, no content type, no word/document.xml: a zip, not a Word file
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document2.xml", "<x/>")
    assert codes(extractors.extract(out.getvalue(), "a.docx")) == ["FILE_UNSUPPORTED_TYPE"]


def test_xlsx_office_document_relationship_is_not_a_word_part():
    from openpyxl import Workbook

    buf = io.BytesIO()
    Workbook().save(buf)
    assert codes(extractors.extract(buf.getvalue(), "a.docx")) == ["FILE_UNSUPPORTED_TYPE"]


def _patch_entry(data: bytes, name: str, *, method: int | None = None, flag: int | None = None) -> bytes:
    """Rewrite one entry's compression method / flag bits in its local and central headers."""
    buf = bytearray(data)
    raw = name.encode()
    local = zipfile.ZipFile(io.BytesIO(data)).getinfo(name).header_offset
    central = next(i for i in range(len(buf)) if buf[i:i + 4] == b"PK\x01\x02" and buf[i + 46:i + 46 + len(raw)] == raw)
    for start, off_flag, off_method in ((local, 6, 8), (central, 8, 10)):
        if method is not None:
            buf[start + off_method:start + off_method + 2] = method.to_bytes(2, "little")
        if flag is not None:
            old = int.from_bytes(buf[start + off_flag:start + off_flag + 2], "little")
            buf[start + off_flag:start + off_flag + 2] = (old | flag).to_bytes(2, "little")
    return bytes(buf)


def test_zip_variants_get_their_own_codes_not_corrupt():
    data = docx_from_body(TITLE + p(r("体验中心名称：星河体验馆")))
    deflate64 = extractors.extract(_patch_entry(data, "word/document.xml", method=9), "a.docx")
    assert codes(deflate64) == ["FILE_UNSUPPORTED_TYPE"] and "压缩方式" in deflate64.intake_findings[0].message
    encrypted = extractors.extract(_patch_entry(data, "word/document.xml", flag=0x1), "a.docx")
    assert codes(encrypted) == ["FILE_ENCRYPTED"]
    lzma = io.BytesIO()  # a compression Python does unpack: read
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(lzma, "w", zipfile.ZIP_LZMA) as dst:
        for n in src.namelist():
            dst.writestr(n, src.read(n))
    assert extractors.extract(lzma.getvalue(), "a.docx").value("center_name") == "星河体验馆"
    broken = bytearray(data)  # flip bytes inside the deflated document part: a broken file
    off = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml").header_offset + 60
    broken[off:off + 40] = bytes(40)
    assert codes(extractors.extract(bytes(broken), "a.docx")) == ["FILE_CORRUPT"]


def test_a_bug_in_the_docx_reader_is_internal_error_not_corrupt(monkeypatch):
    from formintake.extractors import docx as docx_mod

    def bug(self, el):
        raise AttributeError("'NoneType' object has no attribute 'tag'")

    monkeypatch.setattr(docx_mod._Walker, "container", bug)
    form = extractors.extract(docx_from_body(TITLE), "a.docx")
    assert codes(form) == ["INTERNAL_ERROR"]
