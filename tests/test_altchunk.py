"""w:altChunk: content Word imports from another format when it opens the file (web systems' "export
to Word" write the form as an HTML chunk; the OpenXML SDK's AltChunk inserts whole documents)."""

from __future__ import annotations

import io
import zipfile

from formintake import extractors
from formintake.extractors.docx import read_docx
from formintake.samples import base_values, build_sample

RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DOC_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def altchunk_docx(body_before: str, chunks: list[tuple[str, str, bytes]], body_after: str = "") -> bytes:
    """A package as the OpenXML SDK writes it (AddAlternativeFormatImportPart): each chunk a part
    ``word/<name>`` with its content type, an aFChunk relationship, and ``<w:altChunk r:id>`` in the body."""
    ids = [f"AltChunkId{i + 1}" for i in range(len(chunks))]
    body = body_before + "".join(f'<w:altChunk r:id="{i}"/>' for i in ids) + body_after
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
                f'xmlns:r="{RELS}"><w:body>{body}<w:sectPr/></w:body></w:document>')
    types = "".join(f'<Override PartName="/word/{name}" ContentType="{ct}"/>' for name, ct, _ in chunks)
    rels = "".join(f'<Relationship Id="{i}" Type="{RELS}/aFChunk" Target="/word/{name}"/>'
                   for i, (name, _, _) in zip(ids, chunks))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   f'<Override PartName="/word/document.xml" ContentType="{DOC_CT}"/>{types}</Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml", document)
        z.writestr("word/_rels/document.xml.rels",
                   '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                   f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
                   '</Relationships>')
        for name, _, data in chunks:
            z.writestr(f"word/{name}", data)
    return buf.getvalue()


def para(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


ROWS = (("体验中心名称", "星河信息消费体验馆"), ("所在城市", "北京市"), ("体验中心面积（平方米）", "350"))
# an HTML chunk as a web system's "导出Word" writes it: Word's HTML, GBK, values in <p> inside cells
HTML = ('<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns="http://www.w3.org/TR/REC-html40"><head>'
        '<meta http-equiv=Content-Type content="text/html; charset=gb2312"><style>p.MsoNormal{margin:0}</style>'
        '<title>申报书</title></head><body><div class=WordSection1>'
        "<p class=MsoNormal>二、项目基本情况</p><table class=MsoTableGrid border=1>"
        + "".join(f"<tr><td><p class=MsoNormal><span>{k}</span></p></td><td><p class=MsoNormal>{v}</p></td></tr>"
                  for k, v in ROWS)
        + "</table><p>联系人：张伟<br>联系电话：13912345678</p></div></body></html>").encode("gbk")


def test_a_form_inside_an_altchunk_docx_reads_like_the_clean_original():
    """The whole generated form as an embedded docx (OpenXML SDK AltChunk): the same fields."""
    clean = build_sample(base_values("platform", 21), fmt="docx")
    wrapped = altchunk_docx("", [("afchunk1.docx", "application/vnd.openxmlformats-officedocument."
                                                   "wordprocessingml.document", clean.data)])
    a = extractors.extract(clean.data, "clean.docx")
    b = extractors.extract(wrapped, "wrapped.docx")
    assert b.intake_findings == a.intake_findings == []
    assert {k: v.value for k, v in b.fields.items()} == {k: v.value for k, v in a.fields.items()}
    assert b.value("uscc") == clean.truth["uscc"]


def test_html_and_text_chunks_are_read_and_an_rtf_chunk_is_named():
    data = altchunk_docx(para("2023年新型信息消费示范项目申报书") + para("（信息消费体验中心方向）"),
                         [("afchunk.htm", "text/html", HTML), ("afchunk2.txt", "text/plain", "项目名称：星河体验馆项目\n".encode()),
                          ("afchunk3.rtf", "application/rtf", rb"{\rtf1\ansi hello}")])
    layout = read_docx(data)
    text = layout.text()
    assert "体验中心名称 | 星河信息消费体验馆" in text and "体验中心面积（平方米） | 350" in text
    assert "联系人：张伟\n联系电话：13912345678" in text and "项目名称：星河体验馆项目" in text
    assert "<" not in text and "MsoNormal" not in text and "申报书\n" not in text.split("方向）")[1]  # no head/title
    form = extractors.extract(data, "导出.docx")
    assert form.value("center_name") == "星河信息消费体验馆" and form.value("contact_phone") == "13912345678"
    skipped = [f for f in form.intake_findings if f.code == "FILE_CONTENT_SKIPPED"]
    assert len(skipped) == 1 and "RTF" in skipped[0].message and skipped[0].severity == "warning"
    # without the RTF chunk nothing is said
    ok = altchunk_docx(para("x"), [("afchunk.htm", "text/html", HTML)])
    assert not any(f.code == "FILE_CONTENT_SKIPPED" for f in extractors.extract(ok, "a.docx").intake_findings)
