"""docx backend: word/document.xml read once with lxml into a :class:`~extractors.layout.Layout`.

Body paragraphs and tables come in document order (also inside block-level content controls
``w:sdt``/``w:sdtContent`` and ``w:customXml``). Table rows carry grid columns: ``w:gridBefore`` and
``w:gridSpan`` are honoured, a merged cell appears once and ``w:vMerge`` continuations are skipped.
Nested tables follow the row that holds them, as tables of their own.

Ticks become glyphs in the text so one checkbox reader serves every format: Word checkbox content
controls (``w14:checkbox``, state ``w14:checked``), legacy FORMCHECKBOX fields, ``w:sym`` symbols and
Wingdings runs are rendered as ☑ / ☐. Tracked deletions are dropped, insertions kept; text boxes
(``w:txbxContent``) are read once (``mc:Fallback`` duplicates are skipped).
"""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from formintake.extractors.layout import Cell, Layout, Para, Row
from formintake.models import Evidence
from formintake.validators.registry import make_finding

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"

T_BODY, T_P, T_TBL, T_TR, T_TC, T_SDT, T_SDTCONTENT, T_SDTPR = (
    W + "body", W + "p", W + "tbl", W + "tr", W + "tc", W + "sdt", W + "sdtContent", W + "sdtPr")
T_R, T_T, T_TAB, T_BR, T_CR, T_SYM, T_FLDCHAR, T_NBH = (
    W + "r", W + "t", W + "tab", W + "br", W + "cr", W + "sym", W + "fldChar", W + "noBreakHyphen")
T_CUSTOMXML = W + "customXml"
T_TXBX = W + "txbxContent"
# never text: properties, deleted text, field instructions, the fallback copy of a drawing
_SKIP = {W + "pPr", W + "rPr", T_SDTPR, W + "sdtEndPr", W + "del", W + "moveFrom", W + "instrText",
         W + "delText", W + "fldData", MC + "Fallback", W + "tblPr", W + "tblGrid", W + "trPr", W + "tcPr",
         W + "bookmarkStart", W + "bookmarkEnd", W + "proofErr", W + "commentRangeStart", W + "commentRangeEnd",
         W + "commentReference", W + "footnoteReference", W + "endnoteReference", W + "lastRenderedPageBreak"}

TICKED, UNTICKED = "☑", "☐"
# symbol fonts used for tick boxes: (font, char code) -> glyph
_SYMBOLS = {
    ("wingdings", 0xFE): TICKED, ("wingdings", 0xFD): TICKED, ("wingdings", 0x78): TICKED,
    ("wingdings", 0xFC): "√", ("wingdings", 0xA8): UNTICKED, ("wingdings", 0x6F): UNTICKED,
    ("wingdings", 0x71): UNTICKED, ("wingdings", 0xA1): UNTICKED,
    ("wingdings 2", 0x52): TICKED, ("wingdings 2", 0x54): TICKED, ("wingdings 2", 0x53): TICKED,
    ("wingdings 2", 0x50): "√", ("wingdings 2", 0xA3): UNTICKED, ("wingdings 2", 0x2A): UNTICKED,
    ("wingdings 2", 0x99): UNTICKED,
}


class DocxError(Exception):
    pass


def read_docx(data: bytes, *, size_limit_bytes: int = 50 * 2**20) -> Layout:
    """Read a docx (already sniffed) into a Layout; a broken file gives a Layout with FILE_CORRUPT."""
    layout = Layout("docx")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        with zf.open("word/document.xml") as f:
            xml = f.read(size_limit_bytes + 1)
        if len(xml) > size_limit_bytes:
            layout.findings.append(make_finding(
                "FILE_TOO_LARGE", message="docx正文解压后超过大小限制", evidence=Evidence(method="file"),
                message_en="document.xml larger than the size limit"))
            return layout
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
        root = etree.fromstring(xml, parser)
        body = root.find(T_BODY)
        if body is None:
            raise DocxError("no w:body")
        layout.pages = _pages(zf)
        _Walker(layout).container(body)
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, ValueError, etree.XMLSyntaxError, DocxError) as e:
        layout.blocks.clear()
        layout.findings.append(make_finding(
            "FILE_CORRUPT", message="docx文件已损坏，无法读取正文", evidence=Evidence(method="file"),
            message_en=f"broken docx: {type(e).__name__}: {e}"[:300]))
    except Exception as e:  # zlib.error and friends: still a broken file, never a crash
        layout.blocks.clear()
        layout.findings.append(make_finding(
            "FILE_CORRUPT", message="docx文件已损坏，无法读取正文", evidence=Evidence(method="file"),
            message_en=f"broken docx: {type(e).__name__}: {e}"[:300]))
    return layout


def _pages(zf: zipfile.ZipFile) -> int | None:
    try:
        app = zf.read("docProps/app.xml")[:20000]
    except KeyError:
        return None
    m = re.search(rb"<(?:\w+:)?Pages>(\d+)<", app)
    return int(m.group(1)) if m else None


class _Walker:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.n_para = 0
        self.n_table = 0

    # block level -------------------------------------------------------------------------------
    def container(self, el) -> None:
        for child in el:
            tag = child.tag
            if tag == T_P:
                text, cc = _para_text(child)
                ev = Evidence(method="docx-content-control" if cc else "docx-paragraph", paragraph=self.n_para)
                self.n_para += 1
                self.layout.blocks.append(Para(text, ev))
            elif tag == T_TBL:
                self.table(child)
            elif tag in (T_SDT, T_CUSTOMXML):
                inner = child.find(T_SDTCONTENT) if tag == T_SDT else child
                if inner is not None:
                    self.container(inner)

    def table(self, tbl) -> None:
        t_index = self.n_table
        self.n_table += 1
        r_index = 0
        for tr in _children(tbl, T_TR):
            nested: list = []
            cells: list[Cell] = []
            col = 0
            trpr = tr.find(W + "trPr")
            if trpr is not None:
                gb = trpr.find(W + "gridBefore")
                if gb is not None:
                    col = _int(gb.get(W + "val"), 0)
            for tc in _children(tr, T_TC):
                span, vmerge = 1, None
                tcpr = tc.find(W + "tcPr")
                if tcpr is not None:
                    gs = tcpr.find(W + "gridSpan")
                    if gs is not None:
                        span = max(1, _int(gs.get(W + "val"), 1))
                    vm = tcpr.find(W + "vMerge")
                    if vm is not None:
                        vmerge = vm.get(W + "val") or "continue"
                if vmerge != "continue":
                    lines: list[str] = []
                    cc = self._cell_lines(tc, lines, nested)
                    ev = Evidence(method="docx-content-control" if cc else "docx-table",
                                  table=t_index, row=r_index, col=col)
                    cells.append(Cell("\n".join(lines), col, ev, span))
                col += span
            self.layout.blocks.append(Row(cells, t_index, r_index))
            r_index += 1
            for sub in nested:
                self.table(sub)

    def _cell_lines(self, el, lines: list[str], nested: list) -> bool:
        cc = False
        for child in el:
            tag = child.tag
            if tag == T_P:
                text, c = _para_text(child)
                cc = cc or c
                lines.append(text)
            elif tag == T_TBL:
                nested.append(child)
            elif tag in (T_SDT, T_CUSTOMXML):
                inner = child.find(T_SDTCONTENT) if tag == T_SDT else child
                if inner is not None:
                    cc = self._cell_lines(inner, lines, nested) or cc
        return cc


def _children(el, tag):
    """Direct children with this tag, looking through content controls / customXml wrappers."""
    for child in el:
        if child.tag == tag:
            yield child
        elif child.tag == T_SDT:
            inner = child.find(T_SDTCONTENT)
            if inner is not None:
                yield from _children(inner, tag)
        elif child.tag == T_CUSTOMXML:
            yield from _children(child, tag)


def _int(v: str | None, default: int) -> int:
    try:
        return int(v) if v is not None else default
    except ValueError:
        return default


# inline level ---------------------------------------------------------------------------------
def _para_text(p) -> tuple[str, bool]:
    out: list[str] = []
    flags = [False]
    _inline(p, out, flags, None)
    return "".join(out), flags[0]


def _inline(el, out: list[str], flags: list[bool], font: str | None) -> None:
    for child in el:
        tag = child.tag
        if tag in _SKIP or not isinstance(tag, str):
            continue
        if tag == T_T:
            text = child.text or ""
            if font and text:
                text = "".join(_SYMBOLS.get((font, ord(ch) & 0xFF if ord(ch) >= 0xF000 else ord(ch)), ch)
                               for ch in text)
            out.append(text)
        elif tag == T_R:
            _inline(child, out, flags, _run_symbol_font(child))
        elif tag == T_TAB:
            out.append("\t")
        elif tag in (T_BR, T_CR):
            out.append("\n")
        elif tag == T_NBH:
            out.append("-")
        elif tag == T_SYM:
            f = (child.get(W + "font") or "").lower()
            try:
                code = int(child.get(W + "char") or "0", 16) & 0xFF
            except ValueError:
                code = 0
            out.append(_SYMBOLS.get((f, code), ""))
        elif tag == T_FLDCHAR:
            glyph = _legacy_checkbox(child)
            if glyph:
                out.append(glyph)
        elif tag == T_SDT:
            glyph = _cc_checkbox(child)
            if glyph is not None:
                out.append(glyph)
                flags[0] = True
            else:
                inner = child.find(T_SDTCONTENT)
                if inner is not None:
                    _inline(inner, out, flags, font)
        elif tag == T_TXBX:
            for p in child.iter(T_P):
                text, c = _para_text(p)
                flags[0] = flags[0] or c
                out.append(text + "\n")
        elif tag == T_P:  # a paragraph inside something inline (should not happen outside txbx)
            text, c = _para_text(child)
            flags[0] = flags[0] or c
            out.append(text + "\n")
        else:  # hyperlink, ins, smartTag, fldSimple, drawing, AlternateContent/Choice, ...
            _inline(child, out, flags, font)


def _run_symbol_font(r) -> str | None:
    rpr = r.find(W + "rPr")
    if rpr is None:
        return None
    fonts = rpr.find(W + "rFonts")
    if fonts is None:
        return None
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        v = (fonts.get(W + attr) or "").lower()
        if v.startswith("wingdings"):
            return v
    return None


def _cc_checkbox(sdt) -> str | None:
    pr = sdt.find(T_SDTPR)
    if pr is None:
        return None
    box = pr.find(W14 + "checkbox")
    if box is None:
        return None
    checked = box.find(W14 + "checked")
    val = checked.get(W14 + "val") if checked is not None else "0"
    return TICKED if (val or "").lower() in ("1", "true", "on") else UNTICKED


def _legacy_checkbox(fldchar) -> str | None:
    if fldchar.get(W + "fldCharType") != "begin":
        return None
    ff = fldchar.find(W + "ffData")
    if ff is None:
        return None
    box = ff.find(W + "checkBox")
    if box is None:
        return None
    checked = box.find(W + "checked")
    if checked is not None:
        val = checked.get(W + "val")
        return TICKED if val is None or val.lower() in ("1", "true", "on") else UNTICKED
    default = box.find(W + "default")
    val = default.get(W + "val") if default is not None else "0"
    return TICKED if (val or "").lower() in ("1", "true", "on") else UNTICKED
