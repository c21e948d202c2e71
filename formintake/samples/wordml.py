"""Write a filled 申报书 as raw WordprocessingML, with the markup Word and WPS really leave in a file.

    data = render_wordml(values, RenderStyle(), WordMarkup())   # every construct on

The same format-neutral plan as :func:`formintake.samples.render.render_docx` (so the same truth),
written part by part the way Word 2016 writes a package (namespaces, ``mc:Ignorable``, rsids,
settings, styles, comments), with what applicants' files carry:

* tracked changes: values typed over a draft (``w:del``/``w:delText`` then ``w:ins``), a date moved
  out of its label cell (``w:moveFrom``/``w:moveTo``), a stale row deleted (``w:trPr/w:del``), a cover
  line whose paragraph mark was deleted (label and value in two paragraphs, joined once accepted),
  formatting changes (``w:rPrChange``);
* legacy form fields: values as FORMTEXT results (with a ``w:textInput/w:default`` that must not be
  read), boxes as FORMCHECKBOX (``w:default`` / ``w:checked``), or as ``w:sym`` Wingdings glyphs, or as
  WPS-style Wingdings 2 text runs, or as 带圈字符 (EQ overlay fields of □ and √, without a result);
* the cover inside a text box: DrawingML ``wps:txbx`` in ``mc:Choice`` with the VML ``v:textbox`` copy
  in ``mc:Fallback``;
* values split mid-way into runs with different formatting and rsids, inside ``w:proofErr``,
  bookmarks and comment ranges (the comment's own text in ``word/comments.xml``), smart tags and
  ``w:customXml`` wrappers;
* the e-mail as a ``w:hyperlink`` (mailto), the contact's name as a MERGEFIELD result, underlined
  blank runs and ``____`` after values, and a few labels typed into the value's cell (``联系电话：138…``).
"""

from __future__ import annotations

import io
import itertools
import zipfile
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from formintake.samples.render import Block, Box, Cell, RenderStyle, plan_form

NS = {
    "wpc": "http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "o": "urn:schemas-microsoft-com:office:office",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "m": "http://schemas.openxmlformats.org/officeDocument/2006/math",
    "v": "urn:schemas-microsoft-com:vml",
    "wp14": "http://schemas.microsoft.com/office/word/2010/wordprocessingDrawing",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "w10": "urn:schemas-microsoft-com:office:word",
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
    "w15": "http://schemas.microsoft.com/office/word/2012/wordml",
    "w16se": "http://schemas.microsoft.com/office/word/2015/wordml/symex",
    "wpg": "http://schemas.microsoft.com/office/word/2010/wordprocessingGroup",
    "wpi": "http://schemas.microsoft.com/office/word/2010/wordprocessingInk",
    "wne": "http://schemas.microsoft.com/office/word/2006/wordml",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}
IGNORABLE = "w14 w15 w16se wp14"
_ROOT_NS = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k != "a")
REL_HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
AUTHOR = "张伟"
DATE = "2023-08-28T10:15:00Z"
BOX_STYLES = ("formcheckbox", "sym", "wps", "eq", "glyph")


@dataclass(frozen=True)
class WordMarkup:
    """Which of Word's constructs to write (all on by default)."""

    tracked: bool = True
    form_fields: bool = True
    text_box: bool = True
    split_runs: bool = True
    hyperlink: bool = True
    merge_field: bool = True
    tails: bool = True
    one_cell: bool = True
    # formcheckbox | sym (w:sym Wingdings) | wps (Wingdings 2 text) | eq (带圈字符: EQ \o\ac(□,√)) | glyph (☑/☐)
    boxes: str = "formcheckbox"


ONE_CELL_LABELS = ("联系电话", "手机号码", "邮政编码", "邮编")
# draft values typed over (deleted, tracked) before the right one
_DRAFTS = ("待定", "（请填写）", "2022", "XX公司", "0")


def _t(text: str) -> str:
    return f'<w:t xml:space="preserve">{escape(text)}</w:t>'


class _Writer:
    def __init__(self, style: RenderStyle, mk: WordMarkup) -> None:
        self.style, self.mk = style, mk
        self.ids = itertools.count(1)  # w:id of revisions, bookmarks, comments
        self.rsids = [f"00{n:06X}" for n in (0x4A1B2C, 0x5D3E7F, 0x6C2A91, 0x7F0B35)]
        self.n_value = 0
        self.n_box = 0
        self.rels: list[tuple[str, str, str]] = []  # (rId, type, target) of external hyperlinks
        self.comments: list[tuple[int, str]] = []
        self.moved = False
        self.deleted_row = False

    # runs ---------------------------------------------------------------------------------------
    def run(self, text: str, rpr: str = "", rsid: int = 0) -> str:
        if not text:
            return ""
        props = f'<w:rPr><w:rFonts w:hint="eastAsia"/>{rpr}</w:rPr>'
        return f'<w:r w:rsidR="{self.rsids[rsid % 4]}">{props}{_t(text)}</w:r>'

    def rev(self) -> str:
        return f'w:id="{next(self.ids)}" w:author="{AUTHOR}" w:date="{DATE}"'

    def ins(self, inner: str) -> str:
        return f"<w:ins {self.rev()}>{inner}</w:ins>"

    def deleted(self, text: str) -> str:
        return (f'<w:del {self.rev()}><w:r w:rsidDel="{self.rsids[3]}"><w:rPr><w:rFonts w:hint="eastAsia"/>'
                f'</w:rPr><w:delText xml:space="preserve">{escape(text)}</w:delText></w:r></w:del>')

    def tracked(self, value: str) -> str:
        """The draft deleted, the value inserted (half of it typed before tracking was switched on)."""
        k = len(value) // 2
        draft = _DRAFTS[self.n_value % len(_DRAFTS)]
        return self.run(value[:k]) + self.deleted(draft) + self.ins(self.run(value[k:], rsid=1))

    def split(self, value: str) -> str:
        """Runs split mid-value with different formatting, under proofErr, a bookmark and a comment."""
        k = max(1, len(value) // 3)
        bid, cid = next(self.ids), next(self.ids)
        self.comments.append((cid, "请核实此项"))
        change = (f'<w:rPrChange {self.rev()}><w:rPr><w:rFonts w:hint="eastAsia"/></w:rPr></w:rPrChange>')
        return (f'<w:bookmarkStart w:id="{bid}" w:name="_Hlk{140000000 + bid}"/>'
                f'<w:commentRangeStart w:id="{cid}"/><w:proofErr w:type="spellStart"/>'
                + self.run(value[:k])
                + f'<w:r w:rsidR="{self.rsids[2]}"><w:rPr><w:rFonts w:hint="eastAsia"/><w:b/><w:color w:val="FF0000"/>'
                  f'{change}</w:rPr><w:lastRenderedPageBreak/>{_t(value[k:2 * k])}</w:r>'
                + self.run(value[2 * k:], "<w:i/>", rsid=1)
                + '<w:proofErr w:type="spellEnd"/>'
                  f'<w:commentRangeEnd w:id="{cid}"/><w:bookmarkEnd w:id="{bid}"/>'
                  f'<w:r><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:commentReference w:id="{cid}"/></w:r>')

    def formtext(self, value: str) -> str:
        n = next(self.ids)
        return (f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Text{n}"/><w:enabled/>'
                f'<w:calcOnExit w:val="0"/><w:textInput><w:default w:val="（请填写）"/></w:textInput></w:ffData>'
                f'</w:fldChar></w:r><w:bookmarkStart w:id="{n}" w:name="Text{n}"/>'
                '<w:r><w:instrText xml:space="preserve"> FORMTEXT </w:instrText></w:r>'
                '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                + self.run(value, "<w:noProof/>")
                + f'<w:r><w:fldChar w:fldCharType="end"/></w:r><w:bookmarkEnd w:id="{n}"/>')

    def mergefield(self, value: str, name: str) -> str:
        return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                f'<w:r><w:instrText xml:space="preserve"> MERGEFIELD {escape(name)} \\* MERGEFORMAT </w:instrText></w:r>'
                '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                + self.run(value, "<w:noProof/>")
                + '<w:r><w:fldChar w:fldCharType="end"/></w:r>')

    def hyperlink(self, value: str) -> str:
        rid = f"rId{100 + len(self.rels)}"
        self.rels.append((rid, REL_HYPERLINK, "mailto:" + value))
        return (f'<w:hyperlink r:id="{rid}" w:history="1">'
                f'<w:r><w:rPr><w:rStyle w:val="Hyperlink"/></w:rPr>{_t(value)}</w:r></w:hyperlink>')

    def smart(self, inner: str, n: int) -> str:
        if n % 2:
            return (f'<w:smartTag w:uri="urn:schemas-microsoft-com:office:smarttags" w:element="chmetcnv">'
                    f'<w:smartTagPr><w:attr w:name="UnitName" w:val="万元"/></w:smartTagPr>{inner}</w:smartTag>')
        return (f'<w:customXml w:uri="urn:formintake:applicant" w:element="value"><w:customXmlPr>'
                f'<w:placeholder w:val="请填写"/></w:customXmlPr>{inner}</w:customXml>')

    def tail(self) -> str:
        return self.run("        ", '<w:u w:val="single"/>')

    def value(self, text: str, label: str = "", *, in_table: bool = True) -> str:
        """One value with the next construct in turn (so each kind of markup appears several times)."""
        if not text.strip():
            return self.run(text)
        mk = self.mk
        n = self.n_value
        self.n_value += 1
        if mk.hyperlink and "@" in text and " " not in text.strip():
            return self.hyperlink(text)
        if mk.merge_field and label.replace(" ", "") in ("联系人", "联系人姓名"):
            return self.mergefield(text, "联系人")
        kinds = [k for k, on in (("formtext", mk.form_fields and in_table), ("tracked", mk.tracked),
                                 ("split", mk.split_runs and len(text) >= 3)) if on] or ["plain"]
        kind = kinds[n % len(kinds)]
        out = {"formtext": self.formtext, "tracked": self.tracked, "split": self.split}.get(kind, self.run)(text)
        if mk.split_runs and n % 5 == 3:
            out = self.smart(out, n)
        if mk.tails and n % 4 == 1:
            out += self.tail() if in_table else self.run("____")
        return out

    def box(self, checked: bool) -> str:
        n = self.n_box
        self.n_box += 1
        how = self.mk.boxes
        if how == "formcheckbox":
            # checked either by its default or by w:checked over the opposite default
            if n % 2:
                state = f'<w:default w:val="{int(not checked)}"/><w:checked w:val="{int(checked)}"/>'
            else:
                state = f'<w:default w:val="{int(checked)}"/>'
            return (f'<w:r><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check{n + 1}"/><w:enabled/>'
                    f'<w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/>{state}</w:checkBox></w:ffData></w:fldChar></w:r>'
                    '<w:r><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
                    '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
        if how == "sym":
            font, on, off = (("Wingdings 2", "F052", "F0A3"), ("Wingdings", "F0FE", "F0A8"),
                             ("Wingdings", "F0FD", "F06F"))[n % 3]
            return f'<w:r><w:sym w:font="{font}" w:char="{on if checked else off}"/></w:r>'
        if how == "eq":  # Word's 带圈字符: a √ enclosed in □, an EQ overlay field without a cached result
            inner = "√" if checked else " "
            return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                    '<w:r><w:instrText xml:space="preserve">eq \\o\\ac(</w:instrText></w:r>'
                    '<w:r><w:rPr><w:rFonts w:hint="eastAsia"/><w:position w:val="-4"/><w:sz w:val="31"/></w:rPr>'
                    '<w:instrText>□</w:instrText></w:r>'
                    f'<w:r><w:rPr><w:rFonts w:hint="eastAsia"/></w:rPr><w:instrText xml:space="preserve">,{inner})</w:instrText></w:r>'
                    '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
        if how == "wps":
            return ('<w:r><w:rPr><w:rFonts w:hint="default" w:ascii="Wingdings 2" w:hAnsi="Wingdings 2"/></w:rPr>'
                    f'{_t("R" if checked else chr(0xA3))}</w:r>')
        return self.run("☑" if checked else "☐")

    def items(self, items: list, label: str = "", *, in_table: bool = True) -> str:
        out = []
        for i, it in enumerate(items):
            if isinstance(it, Box):
                if i:
                    out.append(self.run("  "))
                out.append(self.box(it.checked))
                out.append(self.run((" " if self.style.tick_space else "") + it.option))
            elif i == 0 and len(items) == 1:
                out.append(self.value(it, label, in_table=in_table))
            else:
                out.append(self.run(it))
        return "".join(out)

    # blocks -------------------------------------------------------------------------------------
    def p(self, runs: str, ppr: str = "", rsid: int = 0) -> str:
        r = self.rsids[rsid % 4]
        return f'<w:p w:rsidR="{r}" w:rsidRDefault="{r}" w:rsidP="{r}">{ppr}{runs}</w:p>'

    def line(self, items: list, *, join_deleted: bool = False) -> str:
        """A paragraph line: ``标签：值`` with the value marked up; optionally split over two paragraphs
        whose first mark is a tracked deletion."""
        text = items[0] if len(items) == 1 and isinstance(items[0], str) else None
        if text is None:
            return self.p(self.items(items, in_table=False))
        label, sep, value = text.partition("：")
        if not sep:
            return self.p(self.value(text, in_table=False) if any(c.isdigit() for c in text) else self.run(text))
        if join_deleted and value.strip():
            mark = f'<w:pPr><w:rPr><w:del {self.rev()}/></w:rPr></w:pPr>'
            return self.p(self.run(label + sep), mark) + self.p(self.value(value, label, in_table=False), rsid=1)
        return self.p(self.run(label + sep) + self.value(value, label, in_table=False))

    def cell(self, cell: Cell, width: int, runs: str) -> str:
        span = f'<w:gridSpan w:val="{cell.span}"/>' if cell.span > 1 else ""
        return f'<w:tc><w:tcPr><w:tcW w:w="{width * cell.span}" w:type="dxa"/>{span}</w:tcPr>{self.p(runs)}</w:tc>'

    def table(self, rows: list[list[Cell]]) -> str:
        ncols = self.style.table_columns
        width = 8300 // ncols
        grid = "".join(f'<w:gridCol w:w="{width}"/>' for _ in range(ncols))
        out = [f'<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/>'
               f'<w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" w:lastColumn="0" '
               f'w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>']
        for ri, row in enumerate(rows):
            out.append(self.tr(row, width, ri))
        out.append("</w:tbl>")
        return "".join(out)

    def tr(self, row: list[Cell], width: int, ri: int) -> str:
        mk = self.mk
        cells: list[str] = []
        trpr = ""
        if mk.tracked and ri == 2:
            trpr = f"<w:trPr><w:ins {self.rev()}/></w:trPr>"
        i = 0
        while i < len(row):
            c = row[i]
            label = c.items[0] if c.is_label and c.items and isinstance(c.items[0], str) else ""
            nxt = row[i + 1] if i + 1 < len(row) else None
            if (mk.one_cell and label.replace(" ", "") in ONE_CELL_LABELS and nxt is not None
                    and len(nxt.items) == 1 and isinstance(nxt.items[0], str)):
                merged = Cell([], span=c.span + nxt.span)
                runs = self.run(label + "：") + self.value(nxt.items[0], label)
                cells.append(self.cell(merged, width, runs))
                i += 2
                continue
            if c.is_label:
                runs = self.run(label) if label else self.items(c.items)
                if (mk.tracked and not self.moved and nxt is not None and len(nxt.items) == 1
                        and isinstance(nxt.items[0], str) and _looks_like_date(nxt.items[0])):
                    # the date was first typed into the label cell, then moved (tracked) to the value cell
                    self.moved = True
                    d = nxt.items[0]
                    mid = next(self.ids)
                    runs += (f'<w:moveFromRangeStart w:id="{mid}" w:author="{AUTHOR}" w:date="{DATE}" w:name="move1"/>'
                             f'<w:moveFrom {self.rev()}>{self.run(d)}</w:moveFrom><w:moveFromRangeEnd w:id="{mid}"/>')
                    mto = next(self.ids)
                    value_runs = (f'<w:moveToRangeStart w:id="{mto}" w:author="{AUTHOR}" w:date="{DATE}" w:name="move1"/>'
                                  f'<w:moveTo {self.rev()}>{self.run(d)}</w:moveTo><w:moveToRangeEnd w:id="{mto}"/>')
                    cells.append(self.cell(c, width, runs))
                    cells.append(self.cell(nxt, width, value_runs))
                    i += 2
                    continue
                cells.append(self.cell(c, width, runs))
            else:
                prev = row[i - 1] if i else None
                plabel = prev.items[0] if prev is not None and prev.is_label and prev.items and isinstance(
                    prev.items[0], str) else ""
                cells.append(self.cell(c, width, self.items(c.items, plabel)))
            i += 1
        out = f'<w:tr w:rsidR="{self.rsids[0]}" w:rsidTr="{self.rsids[0]}">{trpr}{"".join(cells)}</w:tr>'
        if mk.tracked and not self.deleted_row and ri == 0 and len(row) >= 2 and row[0].is_label:
            # a stale copy of the first row, with a wrong value, deleted as a tracked change
            self.deleted_row = True
            label = row[0].items[0] if isinstance(row[0].items[0], str) else ""
            rev = self.rev()
            dead = "".join(
                f'<w:tc><w:tcPr><w:tcW w:w="{width * c.span}" w:type="dxa"/>'
                f'{f"<w:gridSpan w:val={quoteattr(str(c.span))}/>" if c.span > 1 else ""}</w:tcPr>'
                f'{self.p(self.deleted(t))}</w:tc>'
                for c, t in zip(row, [label, "已作废的旧填写内容"] + ["旧"] * (len(row) - 2)))
            out = f'<w:tr w:rsidR="{self.rsids[3]}" w:rsidTr="{self.rsids[3]}"><w:trPr><w:del {rev}/></w:trPr>{dead}</w:tr>' + out
        return out

    def text_box(self, paras: str) -> str:
        """Paragraphs inside a floating text box: DrawingML with its VML fallback (same content twice)."""
        n = next(self.ids)
        cx, cy = 5274310, 2200000
        body = f"<w:txbxContent>{paras}</w:txbxContent>"
        choice = (
            f'<mc:Choice Requires="wps"><w:drawing><wp:anchor distT="0" distB="0" distL="114300" distR="114300" '
            f'simplePos="0" relativeHeight="251659264" behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">'
            f'<wp:simplePos x="0" y="0"/><wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset></wp:positionH>'
            f'<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapTopAndBottom/>'
            f'<wp:docPr id="{n}" name="文本框 {n}"/><wp:cNvGraphicFramePr/>'
            f'<a:graphic xmlns:a="{NS["a"]}"><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
            f'<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            f'<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr>'
            f'<wps:txbx>{body}</wps:txbx><wps:bodyPr rot="0" vert="horz" wrap="square" lIns="91440" tIns="45720" '
            f'rIns="91440" bIns="45720" anchor="t" anchorCtr="0"><a:noAutofit/></wps:bodyPr></wps:wsp>'
            f'</a:graphicData></a:graphic><wp14:sizeRelH relativeFrom="margin"><wp14:pctWidth>0</wp14:pctWidth>'
            f'</wp14:sizeRelH></wp:anchor></w:drawing></mc:Choice>')
        fallback = (
            '<mc:Fallback><w:pict><v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
            'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/><v:path gradientshapeok="t" '
            f'o:connecttype="rect"/></v:shapetype><v:shape id="文本框 {n}" o:spid="_x0000_s{1025 + n}" type="#_x0000_t202" '
            'style="position:absolute;margin-left:0;margin-top:0;width:415.3pt;height:173.25pt;z-index:251659264;'
            'visibility:visible;mso-wrap-style:square" filled="f" stroked="f">'
            f'<v:textbox>{body}</v:textbox><w10:wrap type="topAndBottom"/></v:shape></w:pict></mc:Fallback>')
        return self.p(f"<w:r><mc:AlternateContent>{choice}{fallback}</mc:AlternateContent></w:r>")


def _looks_like_date(text: str) -> bool:
    return any(ch.isdigit() for ch in text) and ("年" in text or text.count("-") == 2 or text.count(".") == 2)


def render_wordml(values: dict[str, Any], style: RenderStyle | None = None, markup: WordMarkup | None = None) -> bytes:
    """The form as a docx written part by part, with Word's markup (see the module docstring)."""
    style = style or RenderStyle()
    mk = markup or WordMarkup()
    wr = _Writer(style, mk)
    body: list[str] = []
    blocks = plan_form(values, style)
    cover: list[str] = []
    in_cover = True
    for b in blocks:
        if b.kind == "pagebreak":
            if cover:
                body.append(wr.text_box("".join(cover)) if mk.text_box else "".join(cover))
                cover = []
            in_cover = False
            body.append(wr.p('<w:r><w:br w:type="page"/></w:r>'))
            continue
        xml = _block(wr, b, first_line=in_cover and not cover)
        if in_cover and b.kind == "line":
            cover.append(xml)
        else:
            body.append(xml)
    body.append(wr.p(""))
    body.append('<w:sectPr w:rsidR="00000000"><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1800" '
                'w:bottom="1440" w:left="1800" w:header="851" w:footer="992" w:gutter="0"/><w:cols w:space="425"/>'
                '<w:docGrid w:type="lines" w:linePitch="312"/></w:sectPr>')
    return docx_from_body("".join(body), wr)


def docx_from_body(body: str, wr: _Writer | None = None, *, main_part: str = "word/document.xml",
                   strict: bool = False) -> bytes:
    """A whole package around ``body`` (the content of ``w:body``, namespaces as in :data:`NS`).

    ``main_part`` names the main document part (Word finds it through ``_rels/.rels``); ``strict``
    writes ISO 29500 Strict namespaces and relationship types, as Word's "Strict Open XML" does."""
    wr = wr or _Writer(RenderStyle(), WordMarkup())
    conformance = ' w:conformance="strict"' if strict else ""
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<w:document {_ROOT_NS} '
                f'mc:Ignorable="{IGNORABLE}"{conformance}><w:body>{body}</w:body></w:document>')
    parts = _package(document, wr, main_part)
    if strict:
        swap = (("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                 "http://purl.oclc.org/ooxml/wordprocessingml/main"),
                ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                 "http://purl.oclc.org/ooxml/officeDocument/relationships"),
                ("http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
                 "http://purl.oclc.org/ooxml/drawingml/wordprocessingDrawing"),
                ("http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"))
        for name, text in parts.items():
            for a, b in swap:
                text = text.replace(a, b)
            parts[name] = text
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2023, 8, 28, 10, 15, 0)), text.encode("utf-8"),
                       compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _block(wr: _Writer, b: Block, *, first_line: bool) -> str:
    if b.kind == "title":
        return wr.p(wr.run(b.items[0], '<w:b/><w:sz w:val="36"/>'), '<w:pPr><w:jc w:val="center"/></w:pPr>')
    if b.kind == "heading":
        return wr.p(wr.run(b.items[0], '<w:b/><w:sz w:val="28"/>'))
    if b.kind == "para":
        return wr.p(wr.run(b.items[0]))
    if b.kind == "line":
        return wr.line(b.items, join_deleted=wr.mk.tracked and first_line)
    if b.kind == "table":
        return wr.table(b.rows)
    raise ValueError(b.kind)


def _package(document: str, wr: _Writer, main_part: str) -> dict[str, str]:
    folder, _, main_name = main_part.rpartition("/")
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          f'<Override PartName="/{main_part}" '
          'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
          f'<Override PartName="/{folder}/styles.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
          f'<Override PartName="/{folder}/settings.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'
          f'<Override PartName="/{folder}/comments.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/>'
          '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
          '<Override PartName="/docProps/app.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
            'Target="docProps/app.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
            'Target="docProps/core.xml"/>'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            f'Target="{main_part}"/></Relationships>')
    R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    doc_rels = [("rId1", R + "styles", "styles.xml", ""), ("rId2", R + "settings", "settings.xml", ""),
                ("rId3", R + "comments", "comments.xml", "")]
    doc_rels += [(rid, typ, target, ' TargetMode="External"') for rid, typ, target in wr.rels]
    doc_rels_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    + "".join(f'<Relationship Id="{i}" Type="{t}" Target={quoteattr(g)}{m}/>' for i, t, g, m in doc_rels)
                    + "</Relationships>")
    w = f'xmlns:w="{NS["w"]}" xmlns:mc="{NS["mc"]}" xmlns:w14="{NS["w14"]}"'
    comments = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<w:comments {w} mc:Ignorable="w14">'
                + "".join(f'<w:comment w:id="{cid}" w:author="{AUTHOR}" w:date="{DATE}" w:initials="ZW"><w:p>'
                          f'<w:r><w:annotationRef/></w:r><w:r>{_t(text)}</w:r></w:p></w:comment>'
                          for cid, text in wr.comments)
                + "</w:comments>")
    settings = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<w:settings {w} mc:Ignorable="w14">'
                '<w:zoom w:percent="100"/>' + ('<w:trackRevisions/>' if wr.mk.tracked else "")
                + '<w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/>'
                '<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" '
                'w:val="15"/></w:compat><w:rsids><w:rsidRoot w:val="' + wr.rsids[0] + '"/>'
                + "".join(f'<w:rsid w:val="{r}"/>' for r in wr.rsids) + "</w:rsids>"
                '<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/></w:settings>')
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<w:styles {w} mc:Ignorable="w14">'
              '<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:asciiTheme="minorHAnsi" w:eastAsiaTheme="minorEastAsia" '
              'w:hAnsiTheme="minorHAnsi" w:cstheme="minorBidi"/><w:kern w:val="2"/><w:sz w:val="21"/>'
              '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/></w:rPr></w:rPrDefault></w:docDefaults>'
              '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/>'
              '<w:pPr><w:widowControl w:val="0"/><w:jc w:val="both"/></w:pPr></w:style>'
              '<w:style w:type="character" w:styleId="Hyperlink"><w:name w:val="Hyperlink"/><w:rPr>'
              '<w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr></w:style>'
              '<w:style w:type="character" w:styleId="CommentReference"><w:name w:val="annotation reference"/>'
              '<w:rPr><w:sz w:val="21"/></w:rPr></w:style>'
              '<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/><w:tblPr><w:tblBorders>'
              + "".join(f'<w:{s} w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
                        for s in ("top", "left", "bottom", "right", "insideH", "insideV"))
              + "</w:tblBorders></w:tblPr></w:style></w:styles>")
    core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dc:title>申报书</dc:title><dc:creator>{AUTHOR}</dc:creator><cp:lastModifiedBy>{AUTHOR}</cp:lastModifiedBy>'
            f'<cp:revision>3</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">{DATE}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{DATE}</dcterms:modified></cp:coreProperties>')
    app = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
           '<Template>Normal.dotm</Template><Pages>4</Pages><Application>Microsoft Office Word</Application>'
           '<AppVersion>16.0000</AppVersion></Properties>')
    return {"[Content_Types].xml": ct, "_rels/.rels": rels, main_part: document,
            f"{folder}/_rels/{main_name}.rels": doc_rels_xml, f"{folder}/styles.xml": styles,
            f"{folder}/settings.xml": settings, f"{folder}/comments.xml": comments,
            "docProps/core.xml": core, "docProps/app.xml": app}
