"""docx backend: the main document part read once with lxml into a :class:`~extractors.layout.Layout`.

What Word, WPS and LibreOffice write, read as the text a reader sees with **all changes accepted**:

* the main part is found the way Word finds it (``_rels/.rels`` officeDocument relationship, then
  ``[Content_Types].xml``), not assumed to be ``word/document.xml``; Strict OOXML (ISO 29500 Strict,
  ``purl.oclc.org`` namespaces) is read like Transitional;
* tracked changes: ``w:ins`` / ``w:moveTo`` kept, ``w:del`` / ``w:moveFrom`` / ``w:delText`` dropped, a
  deleted paragraph mark joins its paragraph to the next, a deleted table row or cell is gone;
* comments, bookmarks, ``w:proofErr``, smart tags, ``w:customXml`` and hyperlinks are transparent;
* fields (complex ``w:fldChar`` and ``w:fldSimple``): the result is read, never the instruction
  (HYPERLINK, MERGEFIELD, FORMTEXT); legacy FORMCHECKBOX becomes ☑/☐ from ``w:checked`` / ``w:default``
  and FORMDROPDOWN its chosen entry;
* text boxes (``w:txbxContent``, DrawingML in ``mc:AlternateContent`` or VML ``v:textbox``) are read
  once (the ``mc:Fallback`` copy is skipped) as blocks of their own after the paragraph that anchors them;
* ticks become glyphs in the text so one checkbox reader serves every format: checkbox content controls
  (``w14:checkbox``), FORMCHECKBOX, ``w:sym`` symbols and Wingdings / Wingdings 2 / Symbol runs;
* ``w:altChunk`` (content imported as another format, what web systems' "export to Word" often write):
  an HTML / XHTML chunk is read as its paragraphs and tables, a plain-text chunk as its lines, an
  embedded docx like the body itself; a chunk of another kind (RTF, MHT) is not read and
  FILE_CONTENT_SKIPPED says so.

Body paragraphs and tables come in document order (also inside block-level content controls
``w:sdt``/``w:sdtContent`` and ``w:customXml``). Table rows carry grid columns: ``w:gridBefore`` and
``w:gridSpan`` are honoured, a merged cell appears once and ``w:vMerge`` continuations are skipped.
Nested tables follow the row that holds them, as tables of their own.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from copy import deepcopy

from lxml import etree

from formintake.extractors.layout import Cell, Layout, Para, Row
from formintake.models import Evidence
from formintake.findings import make_finding

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = "{" + W_NS + "}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# ISO 29500 Strict namespaces -> their Transitional twins (same element and attribute names)
_STRICT_NS = (
    (b"http://purl.oclc.org/ooxml/wordprocessingml/main", W_NS.encode()),
    (b"http://purl.oclc.org/ooxml/officeDocument/relationships",
     b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
    (b"http://purl.oclc.org/ooxml/drawingml/wordprocessingDrawing",
     b"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"),
    (b"http://purl.oclc.org/ooxml/drawingml/main", b"http://schemas.openxmlformats.org/drawingml/2006/main"),
)
MAIN_CONTENT_TYPES = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
)
MAX_DEPTH = 2048  # libxml2's element depth limit with huge_tree (256 without)

T_BODY, T_P, T_TBL, T_TR, T_TC, T_SDT, T_SDTCONTENT, T_SDTPR = (
    W + "body", W + "p", W + "tbl", W + "tr", W + "tc", W + "sdt", W + "sdtContent", W + "sdtPr")
T_R, T_T, T_TAB, T_PTAB, T_BR, T_CR, T_SYM, T_FLDCHAR, T_INSTR, T_NBH = (
    W + "r", W + "t", W + "tab", W + "ptab", W + "br", W + "cr", W + "sym", W + "fldChar", W + "instrText",
    W + "noBreakHyphen")
T_CUSTOMXML = W + "customXml"
T_PPR, T_RPR, T_DEL, T_MOVEFROM, T_RFONTS, T_TRPR, T_TCPR, T_GRIDBEFORE, T_GRIDSPAN, T_VMERGE, T_CELLDEL = (
    W + "pPr", W + "rPr", W + "del", W + "moveFrom", W + "rFonts", W + "trPr", W + "tcPr", W + "gridBefore",
    W + "gridSpan", W + "vMerge", W + "cellDel")
T_VAL = W + "val"
T_ALTCHUNK = W + "altChunk"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MAX_CHUNK_DEPTH = 3  # an embedded docx may hold altChunks of its own, this deep at most
T_TXBX = W + "txbxContent"
T_FLDSIMPLE = W + "fldSimple"
T_ALT, T_CHOICE = MC + "AlternateContent", MC + "Choice"
# never text: properties, deleted / moved-away text, field instructions, the fallback copy of a drawing,
# annotations, ruby pronunciation
_SKIP = {W + "pPr", W + "rPr", T_SDTPR, W + "sdtEndPr", W + "del", W + "moveFrom", W + "delText",
         W + "delInstrText", W + "fldData", MC + "Fallback", W + "tblPr", W + "tblGrid", W + "trPr", W + "tcPr",
         W + "bookmarkStart", W + "bookmarkEnd", W + "proofErr", W + "commentRangeStart", W + "commentRangeEnd",
         W + "commentReference", W + "footnoteReference", W + "endnoteReference", W + "lastRenderedPageBreak",
         W + "rt", W + "annotationRef", W + "permStart", W + "permEnd", W + "softHyphen"}

TICKED, UNTICKED = "☑", "☐"
# symbol fonts used for tick boxes: (font, char code & 0xFF) -> glyph
_SYMBOLS = {
    ("wingdings", 0xFE): TICKED, ("wingdings", 0xFD): TICKED, ("wingdings", 0x78): TICKED,
    ("wingdings", 0xFC): "√", ("wingdings", 0xFB): "×", ("wingdings", 0xA8): UNTICKED,
    ("wingdings", 0x6F): UNTICKED, ("wingdings", 0x71): UNTICKED, ("wingdings", 0xA1): UNTICKED,
    ("wingdings 2", 0x52): TICKED, ("wingdings 2", 0x54): TICKED, ("wingdings 2", 0x53): TICKED,
    ("wingdings 2", 0x50): "√", ("wingdings 2", 0xA3): UNTICKED, ("wingdings 2", 0x2A): UNTICKED,
    ("wingdings 2", 0x99): UNTICKED,
    ("symbol", 0xD6): "√",
}
_SYMBOL_FONTS = ("wingdings", "symbol")


class DocxError(Exception):
    pass


class TooDeep(Exception):
    pass


def read_docx(data: bytes, *, size_limit_bytes: int = 50 * 2**20,
              package: tuple[zipfile.ZipFile, str] | None = None) -> Layout:
    """Read a docx (already sniffed) into a Layout; a file we cannot read gives a Layout with the finding
    that says why. Errors of the reader itself are not caught here (they are INTERNAL_ERROR upstream).
    ``package``: the zip of ``data`` already opened and its main part found (by the sniffer)."""
    layout = Layout("docx")
    try:
        if package is not None:
            zf, part = package
        else:
            zf = zipfile.ZipFile(io.BytesIO(data))
            part = main_part_name(zf)
        if part is None:
            raise DocxError("no main document part (word/document.xml or an officeDocument relationship)")
        with zf.open(part) as f:
            xml = f.read(size_limit_bytes + 1)
        if len(xml) > size_limit_bytes:
            return _fail(layout, "FILE_TOO_LARGE", "docx正文解压后超过大小限制", "document part larger than the size limit")
        root = parse_xml(xml)
        body = root.find(T_BODY)
        if body is None:
            raise DocxError("no w:body")
        layout.pages = _pages(zf)
    except TooDeep:
        return _too_deep(layout)
    except NotImplementedError as e:  # zipfile: a compression method Python cannot unpack (Deflate64, LZMA…)
        return _fail(layout, "FILE_UNSUPPORTED_TYPE", "docx使用了不支持的压缩方式（请用Word或WPS重新另存为docx）",
                     f"unsupported zip compression: {e}")
    except RuntimeError as e:  # zipfile: an encrypted zip entry ("password required")
        if "encrypted" not in str(e) and "password" not in str(e):
            raise
        return _fail(layout, "FILE_ENCRYPTED", "docx压缩包内容已加密，无法读取，请去除密码后重新上传", f"encrypted zip entry: {e}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, EOFError, OSError, ValueError, zlib.error,
            etree.XMLSyntaxError, DocxError) as e:  # broken zip, bad deflate data, bad XML: a broken file
        return _fail(layout, "FILE_CORRUPT", "docx文件已损坏，无法读取正文", f"broken docx: {type(e).__name__}: {e}")
    try:
        _Walker(layout, _Chunks(zf, part, size_limit_bytes), _has_symbol_fonts(root)).container(body)
    except RecursionError:
        return _too_deep(layout)
    return layout


class _Chunks:
    """The ``w:altChunk`` parts of one document part: relationship id -> (bytes, kind)."""

    HTML = ("text/html", "application/xhtml+xml")
    TEXT = ("text/plain",)
    DOCX = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-word.document.macroEnabled.12",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
            "application/vnd.ms-word.template.macroEnabled.12")
    BY_EXT = {"htm": "html", "html": "html", "xhtml": "html", "mht": "mht", "mhtml": "mht", "txt": "text",
              "rtf": "rtf", "docx": "docx", "docm": "docx", "dotx": "docx", "dotm": "docx", "xml": "xml"}

    def __init__(self, zf: zipfile.ZipFile, part: str, limit: int, depth: int = 0) -> None:
        self.zf, self.part, self.limit, self.depth = zf, part, limit, depth
        self.names = {n.lower(): n for n in zf.namelist()}
        self._targets: dict[str, str] | None = None
        self._types: tuple[dict[str, str], dict[str, str]] | None = None

    def _rels(self) -> dict[str, str]:
        if self._targets is None:
            self._targets = {}
            folder, name = posixpath.split(self.part)
            raw = _small_part(self.zf, self.names, posixpath.join(folder, "_rels", name + ".rels"))
            if raw is not None:
                for rel in parse_xml(raw).iter("{*}Relationship"):
                    if rel.get("TargetMode") == "External":
                        continue
                    target = (rel.get("Target") or "").replace("\\", "/")
                    path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
                    self._targets[rel.get("Id") or ""] = posixpath.normpath(path)
        return self._targets

    def _content_type(self, path: str) -> str:
        if self._types is None:
            overrides: dict[str, str] = {}
            defaults: dict[str, str] = {}
            raw = _small_part(self.zf, self.names, "[Content_Types].xml")
            if raw is not None:
                for el in parse_xml(raw):
                    if el.tag.endswith("Override"):
                        overrides[(el.get("PartName") or "").lstrip("/").lower()] = el.get("ContentType") or ""
                    elif el.tag.endswith("Default"):
                        defaults[(el.get("Extension") or "").lower()] = el.get("ContentType") or ""
            self._types = (overrides, defaults)
        overrides, defaults = self._types
        ext = posixpath.splitext(path)[1].lstrip(".").lower()
        return (overrides.get(path.lower()) or defaults.get(ext) or "").split(";")[0].strip().lower()

    def get(self, rid: str | None) -> tuple[str, bytes | None, str]:
        """(kind: html | text | docx | rtf | mht | … | missing, the part's bytes, its name)."""
        path = self._rels().get(rid or "")
        real = self.names.get(path.lower()) if path else None
        if real is None:
            return "missing", None, path or ""
        ctype = self._content_type(path)
        kind = ("html" if ctype in self.HTML else "text" if ctype in self.TEXT else "docx" if ctype in self.DOCX
                else self.BY_EXT.get(posixpath.splitext(path)[1].lstrip(".").lower(), ctype or "unknown"))
        with self.zf.open(real) as f:
            data = f.read(self.limit + 1)
        if len(data) > self.limit:
            return "too large", None, path
        return kind, data, path


def _fail(layout: Layout, code: str, message: str, message_en: str) -> Layout:
    layout.blocks.clear()
    layout.findings.append(make_finding(code, message=message, evidence=Evidence(method="file"),
                                        message_en=message_en[:300]))
    return layout


def _too_deep(layout: Layout) -> Layout:
    layout.blocks.clear()
    layout.findings.append(make_finding(
        "FILE_TOO_LARGE", message="docx正文嵌套层级过深（如表格中套表格数百层），超出可读取的范围，请简化后重新上传",
        expected=f"XML嵌套≤{MAX_DEPTH}层", evidence=Evidence(method="file"),
        message_en=f"document nested too deeply (XML depth limit {MAX_DEPTH}, or recursion limit)"))
    return layout


def parse_xml(xml: bytes):
    """Parse one OOXML part safely: no entities, no network; text nodes over lxml's 10 MB limit and
    nesting up to :data:`MAX_DEPTH` are allowed (the part's size is already bounded by the size limit)."""
    if b"purl.oclc.org/ooxml/" in xml:
        for strict, transitional in _STRICT_NS:
            xml = xml.replace(strict, transitional)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True,
                             load_dtd=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as e:
        if "Excessive depth" in str(e):
            raise TooDeep() from e
        raise


def main_part_name(zf: zipfile.ZipFile) -> str | None:
    """The main document part of a WordprocessingML package, or None when there is none.

    Word follows the package relationship of type officeDocument (``_rels/.rels``) to a part whose
    content type (``[Content_Types].xml``) is a Word main document; ``word/document.xml`` is only the
    convention. An xlsx/pptx has an officeDocument relationship too, but not to a Word part. Part names
    are case-insensitive (OPC), so the zip's own spelling is returned."""
    names = {n.lower(): n for n in zf.namelist()}
    targets: list[str] = []
    word_parts: list[str] = []
    try:
        rels = _small_part(zf, names, "_rels/.rels")
        if rels is not None:
            for rel in parse_xml(rels).iter("{*}Relationship"):
                if (rel.get("Type") or "").endswith("/officeDocument") and rel.get("TargetMode") != "External":
                    target = (rel.get("Target") or "").replace("\\", "/")
                    targets.append(posixpath.normpath(target.lstrip("/")).lower())
        ct = _small_part(zf, names, "[Content_Types].xml")
        if ct is not None:
            for ov in parse_xml(ct).iter("{*}Override"):
                if (ov.get("ContentType") or "").strip() in MAIN_CONTENT_TYPES:
                    word_parts.append((ov.get("PartName") or "").lstrip("/").lower())
    except (etree.XMLSyntaxError, TooDeep, ValueError):
        pass
    for c in [t for t in targets if t in word_parts] + word_parts:
        if c in names:
            return names[c]
    return names.get("word/document.xml")


def _small_part(zf: zipfile.ZipFile, names: dict[str, str], name: str, limit: int = 2**20) -> bytes | None:
    real = names.get(name.lower())
    if real is None:
        return None
    with zf.open(real) as f:
        return f.read(limit)


def _pages(zf: zipfile.ZipFile) -> int | None:
    try:
        app = zf.read("docProps/app.xml")[:20000]
    except KeyError:
        return None
    m = re.search(rb"<(?:\w+:)?Pages>(\d+)<", app)
    return int(m.group(1)) if m else None


def _child(el, tag: str):
    """The first child with this (Clark-notation) tag, or None: ``el.find(tag)`` without lxml's path
    machinery, which costs more than walking the few children a w:p / w:r / w:tc / w:tr starts with."""
    for child in el:
        if child.tag == tag:
            return child
    return None


def _first_children(el, tags: frozenset) -> dict:
    """tag -> the first child with that tag, for the wanted tags (one pass over the children)."""
    out: dict = {}
    for child in el:
        tag = child.tag
        if tag in tags and tag not in out:
            out[tag] = child
    return out


_TC_PROPS = frozenset((T_CELLDEL, T_GRIDSPAN, T_VMERGE))


def _mark_removed(p) -> bool:
    """The paragraph mark is a tracked deletion (or moved away): accepted, the paragraph joins the next."""
    ppr = _child(p, T_PPR)
    rpr = _child(ppr, T_RPR) if ppr is not None else None
    return rpr is not None and (_child(rpr, T_DEL) is not None or _child(rpr, T_MOVEFROM) is not None)


def _block_children(el):
    """Children of a block container, looking through mc:AlternateContent (its Choice only)."""
    for child in el:
        if child.tag == T_ALT:
            choice = _child(child, T_CHOICE)
            if choice is not None:
                yield from _block_children(choice)
        else:
            yield child


class _Walker:
    def __init__(self, layout: Layout, chunks: _Chunks | None = None, symbols: bool = True) -> None:
        self.layout = layout
        self.chunks = chunks
        self.symbols = symbols  # some run of the tree being walked may name a symbol font
        self.n_para = 0
        self.n_table = 0
        self.skipped: list[str] = []  # altChunks not read (their kind), for FILE_CONTENT_SKIPPED

    # block level -------------------------------------------------------------------------------
    def container(self, el) -> None:
        carry = ""  # text of paragraphs whose mark was deleted (tracked): joins the next paragraph
        carry_cc = False
        for child in _block_children(el):
            tag = child.tag
            if tag == T_P:
                pt = _ParaText(child, self.symbols)
                if _mark_removed(child):
                    carry += pt.text
                    carry_cc = carry_cc or pt.cc
                    self._floats(pt)
                    continue
                self._para(carry + pt.text, carry_cc or pt.cc)
                carry, carry_cc = "", False
                self._floats(pt)
                continue
            if carry:
                self._para(carry, carry_cc)
                carry, carry_cc = "", False
            if tag == T_TBL:
                self.table(child)
            elif tag in (T_SDT, T_CUSTOMXML):
                inner = child.find(T_SDTCONTENT) if tag == T_SDT else child
                if inner is not None:
                    self.container(inner)
            elif tag == T_ALTCHUNK:
                self.alt_chunk(child)
        if carry:
            self._para(carry, carry_cc)

    # altChunk ------------------------------------------------------------------------------------
    def alt_chunk(self, el) -> None:
        """Content Word imports from another format when it opens the file (``w:altChunk``)."""
        if self.chunks is None:
            return
        kind, data, path = self.chunks.get(el.get(R_ID))
        if kind == "html" and data is not None:
            self._html(data)
        elif kind == "text" and data is not None:
            for line in _decode(data).splitlines():
                if line.strip():
                    self._para(line.strip(), False)
        elif kind == "docx" and data is not None and self.chunks.depth < MAX_CHUNK_DEPTH:
            self._docx(data, kind)
        else:
            self._skip(kind, path)

    def _skip(self, kind: str, path: str) -> None:
        self.skipped.append(kind)
        what = {"rtf": "RTF", "mht": "MHT网页", "docx": "Word文档", "missing": "（缺失的）"}.get(kind, kind)
        self.layout.findings.append(make_finding(
            "FILE_CONTENT_SKIPPED", value=path or None, evidence=Evidence(method="file"),
            message=f"文件中有以{what}格式嵌入的内容（altChunk），未能读取；其中的填写内容请人工核对，"
                    "或在Word中打开后另存为docx再上传",
            message_en=f"embedded altChunk of kind {kind!r} ({path}) not read"))

    def _docx(self, data: bytes, kind: str) -> None:
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            part = main_part_name(zf)
            with zf.open(part or "word/document.xml") as f:
                xml = f.read(self.chunks.limit + 1)
            body = parse_xml(xml).find(T_BODY) if len(xml) <= self.chunks.limit else None
        except (zipfile.BadZipFile, KeyError, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
                zlib.error, etree.XMLSyntaxError) as e:
            self._skip(f"docx ({type(e).__name__})", "")
            return
        if body is None:
            self._skip("docx", "")
            return
        outer, outer_symbols = self.chunks, self.symbols
        self.chunks = _Chunks(zf, part or "word/document.xml", outer.limit, outer.depth + 1)
        self.symbols = _has_symbol_fonts(body)
        try:
            self.container(body)
        finally:
            self.chunks, self.symbols = outer, outer_symbols

    def _html(self, data: bytes) -> None:
        """An HTML chunk: block elements as paragraphs, tables as rows of cells (colspan kept)."""
        import lxml.html  # deferred: only an altChunk of HTML needs lxml's HTML parser

        try:
            doc = lxml.html.document_fromstring(data)
        except (etree.ParserError, ValueError):
            return
        body = doc.find("body")
        self._html_blocks(body if body is not None else doc)

    def _html_blocks(self, el) -> None:
        inline: list[str] = [el.text or ""] if el.tag not in _HTML_SKIP else []
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "table":
                self._html_para("".join(inline))
                inline = []
                self._html_table(child)
            elif tag in _HTML_BLOCKS and (child.find(".//table") is not None or any(
                    isinstance(c.tag, str) and c.tag in _HTML_BLOCKS for c in child)):
                self._html_para("".join(inline))
                inline = []
                self._html_blocks(child)
            elif tag in _HTML_BLOCKS:
                self._html_para("".join(inline))
                inline = []
                for line in _html_lines(child):
                    self._html_para(line)
            elif tag == "br":
                self._html_para("".join(inline))
                inline = []
            elif tag and tag not in _HTML_SKIP:
                inline.append(_html_text(child))
            inline.append(child.tail or "")
        self._html_para("".join(inline))

    def _html_para(self, text: str) -> None:
        text = " ".join(text.split())
        if text:
            self._para(text, False)

    def _html_table(self, table) -> None:
        t_index = self.n_table
        self.n_table += 1
        nested = []
        rows = [tr for tr in table.iter("tr") if _owner_table(tr) is table]
        for r_index, tr in enumerate(rows):
            cells: list[Cell] = []
            col = 0
            for td in tr:
                if not isinstance(td.tag, str) or td.tag not in ("td", "th"):
                    continue
                span = max(1, _int(td.get("colspan"), 1))
                nested += [t for t in td.iter("table") if _owner_table(t.getparent()) is table]
                lines = [" ".join(x.split()) for x in _html_lines(td)]
                ev = Evidence(method="docx-table", table=t_index, row=r_index, col=col)
                cells.append(Cell("\n".join(x for x in lines if x), col, ev, span))
                col += span
            self.layout.blocks.append(Row(cells, t_index, r_index))
        for sub in nested:
            self._html_table(sub)

    def _para(self, text: str, cc: bool) -> None:
        ev = Evidence(method="docx-content-control" if cc else "docx-paragraph", paragraph=self.n_para)
        self.n_para += 1
        self.layout.blocks.append(Para(text, ev))

    def _floats(self, pt: _ParaText) -> None:
        for box in pt.boxes:  # text boxes anchored in this paragraph, after it
            self.container(box)

    def table(self, tbl) -> None:
        t_index = self.n_table
        self.n_table += 1
        r_index = 0
        for tr in _children(tbl, T_TR):
            nested: list = []
            cells: list[Cell] = []
            col = 0
            trpr = _child(tr, T_TRPR)
            if trpr is not None:
                if _child(trpr, T_DEL) is not None:
                    continue  # a deleted row (tracked): gone once accepted
                gb = _child(trpr, T_GRIDBEFORE)
                if gb is not None:
                    col = _int(gb.get(T_VAL), 0)
            for tc in _children(tr, T_TC):
                span, vmerge = 1, None
                tcpr = _child(tc, T_TCPR)
                if tcpr is not None:
                    props = _first_children(tcpr, _TC_PROPS)
                    if T_CELLDEL in props:
                        continue
                    gs = props.get(T_GRIDSPAN)
                    if gs is not None:
                        span = max(1, _int(gs.get(T_VAL), 1))
                    vm = props.get(T_VMERGE)
                    if vm is not None:
                        vmerge = vm.get(T_VAL) or "continue"
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
        carry = ""
        for child in _block_children(el):
            tag = child.tag
            if tag == T_P:
                pt = _ParaText(child, self.symbols)
                cc = cc or pt.cc
                if _mark_removed(child):
                    carry += pt.text
                else:
                    lines.append(carry + pt.text)
                    carry = ""
                for box in pt.boxes:
                    cc = self._cell_lines(box, lines, nested) or cc
            elif tag == T_TBL:
                nested.append(child)
            elif tag in (T_SDT, T_CUSTOMXML):
                inner = child.find(T_SDTCONTENT) if tag == T_SDT else child
                if inner is not None:
                    cc = self._cell_lines(inner, lines, nested) or cc
        if carry:
            lines.append(carry)
        return cc


_HTML_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "pre", "blockquote", "center",
                "section", "article", "header", "footer", "dl", "dt", "dd", "address", "form", "fieldset"}
_HTML_SKIP = {"script", "style", "head", "title", "meta", "link", "xml", "noscript", "template"}


def _owner_table(el):
    """The nearest table element at or above ``el``."""
    while el is not None and el.tag != "table":
        el = el.getparent()
    return el


def _html_text(el) -> str:
    """The text of an HTML element, without scripts, styles or nested tables' text."""
    if not isinstance(el.tag, str) or el.tag in _HTML_SKIP or el.tag == "table":
        return ""
    out = [el.text or ""]
    for c in el:
        out.append(_html_text(c))
        out.append(c.tail or "")
    return "".join(out)


def _html_lines(cell) -> list[str]:
    """A table cell's text, one line per paragraph / line break (nested tables are rows of their own)."""
    lines = [""]

    def walk(el) -> None:
        for c in el:
            tag = c.tag if isinstance(c.tag, str) else ""
            if tag == "table" or tag in _HTML_SKIP:
                pass
            elif tag == "br":
                lines.append("")
            elif tag in _HTML_BLOCKS:
                if lines[-1].strip():
                    lines.append("")
                lines[-1] += c.text or ""
                walk(c)
                lines.append("")
            elif tag:
                lines[-1] += c.text or ""
                walk(c)
            lines[-1] += c.tail or ""

    lines[-1] += cell.text or ""
    walk(cell)
    return [x for x in lines if x.strip()]


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def _children(el, tag):
    """Direct children with this tag, looking through content controls / customXml wrappers."""
    for child in _block_children(el):
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
class _Field:
    __slots__ = ("ff", "result", "shown", "instr")

    def __init__(self, ff) -> None:
        self.ff = ff  # w:ffData of a legacy form field, or None
        self.result = False  # past w:fldChar separate: its runs are the field's result
        self.shown = 0  # characters of result text written
        self.instr: list[str] = []  # its own instruction text


class _ParaText:
    """One paragraph's text as displayed with all changes accepted; text boxes collected in ``boxes``."""

    def __init__(self, p, symbols: bool = True) -> None:
        self.out: list[str] = []
        self.symbols = symbols  # False: no run of this document names a symbol font (see _has_symbol_fonts)
        self.cc = False  # a content control supplied text or ticks
        self.boxes: list = []  # w:txbxContent elements anchored here
        self.fields: list[_Field] = []  # open complex fields, outermost first
        self.walk(p, None)
        self.text = "".join(self.out)

    def visible(self) -> bool:
        return all(f.result for f in self.fields)

    def emit(self, text: str) -> None:
        if text and self.visible():
            self.out.append(text)
            if self.fields:
                self.fields[-1].shown += len(text)

    def walk(self, el, font: str | None) -> None:
        for child in el:
            tag = child.tag
            if tag in _SKIP or not isinstance(tag, str):
                continue
            if tag == T_T:
                text = child.text or ""
                if font and text:
                    text = "".join(_SYMBOLS.get((font, ord(ch) & 0xFF), ch) if ord(ch) < 0x100 or ord(ch) >= 0xF000
                                   else ch for ch in text)
                self.emit(text)
            elif tag == T_R:
                self.walk(child, _run_symbol_font(child) if self.symbols else None)
            elif tag in (T_TAB, T_PTAB):
                self.emit("\t")
            elif tag in (T_BR, T_CR):
                self.emit("\n")
            elif tag == T_NBH:
                self.emit("-")
            elif tag == T_SYM:
                self.emit(_sym(child))
            elif tag == T_FLDCHAR:
                self.fldchar(child)
            elif tag == T_INSTR:
                if self.fields and not self.fields[-1].result and all(f.result for f in self.fields[:-1]):
                    self.fields[-1].instr.append(child.text or "")
            elif tag == T_SDT:
                glyph = _cc_checkbox(child)
                if glyph is not None:
                    if self.visible():
                        self.cc = True
                    self.emit(glyph)
                else:
                    inner = child.find(T_SDTCONTENT)
                    if inner is not None:
                        self.walk(inner, font)
            elif tag == T_TXBX:
                if self.visible():
                    self.boxes.append(child)
            elif tag == T_P:  # a paragraph inside something inline (outside txbx: should not happen)
                self.boxes.append(_wrap(child))
            else:  # hyperlink, ins, moveTo, smartTag, fldSimple (its result runs), drawing, Choice, ...
                self.walk(child, font)

    def fldchar(self, el) -> None:
        kind = el.get(W + "fldCharType")
        if kind == "begin":
            self.fields.append(_Field(el.find(W + "ffData")))
        elif kind == "separate":
            if self.fields:
                self.fields[-1].result = True
        elif kind == "end" and self.fields:
            f = self.fields.pop()
            if not f.shown:  # a field without a cached result: what Word computes and shows
                self.emit(_form_field_value(f.ff) if f.ff is not None else _eq_text("".join(f.instr)))


_EQ = re.compile(r"^\s*eq\s", re.I)
_EQ_BOX, _EQ_TICK = set("□☐口"), set("√✓✔×xX╳")


def _eq_text(instr: str) -> str:
    """What an EQ field shows. Word's 带圈字符 (enclose characters) writes a tick in a box as
    ``eq \\o\\ac(□,√)``, an overlay with no cached result: read as ☑ (a box alone as ☐)."""
    if not _EQ.match(instr):
        return ""
    chars = re.sub(r"\\[a-zA-Z]+\d*|[(),\s]", "", instr.strip()[2:])
    if chars and set(chars) & _EQ_BOX:
        return TICKED if set(chars) & _EQ_TICK else UNTICKED
    return chars


def _wrap(p):
    holder = etree.Element(T_TXBX)
    holder.append(deepcopy(p))
    return holder


def _sym(el) -> str:
    font = (el.get(W + "font") or "").lower()
    try:
        code = int(el.get(W + "char") or "0", 16)
    except ValueError:
        return ""
    glyph = _SYMBOLS.get((font, code & 0xFF))
    if glyph is not None:
        return glyph
    if font.startswith(_SYMBOL_FONTS) or 0xF000 <= code <= 0xF0FF or code < 0x20:
        return ""  # a symbol-font picture we do not know: no text
    return chr(code) if code < 0x110000 else ""  # a Unicode symbol written as w:sym (MS Gothic ☒ …)


_UPPER, _LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_SYMBOL_FONT_ATTRS = etree.XPath(
    "boolean(//w:rFonts/@*[namespace-uri() = $ns and (local-name() = 'ascii' or local-name() = 'hAnsi' or "
    "local-name() = 'eastAsia' or local-name() = 'cs') and (" + " or ".join(
        f"starts-with(translate(., '{_UPPER}', '{_LOWER}'), '{f}')" for f in _SYMBOL_FONTS) + ")])",
    namespaces={"w": W_NS})


def _has_symbol_fonts(root) -> bool:
    """Whether any w:rFonts in this XML tree names a symbol font (what :func:`_run_symbol_font` looks
    for): one XPath pass in libxml2 instead of a look at every run's properties. (Python's lower() and
    XPath's ASCII translate agree here: no non-ASCII letter lowers to one of the fonts' letters.)"""
    return bool(_SYMBOL_FONT_ATTRS(root, ns=W_NS))


def _run_symbol_font(r) -> str | None:
    rpr = _child(r, T_RPR)
    if rpr is None:
        return None
    fonts = _child(rpr, T_RFONTS)
    if fonts is None:
        return None
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        v = (fonts.get(W + attr) or "").lower()
        if v.startswith(_SYMBOL_FONTS):
            return v
    return None


def _on(val: str | None, default: bool = True) -> bool:
    if val is None:
        return default
    return val.strip().lower() in ("1", "true", "on")


def _cc_checkbox(sdt) -> str | None:
    pr = _child(sdt, T_SDTPR)
    if pr is None:
        return None
    box = _child(pr, W14 + "checkbox")
    if box is None:
        return None
    checked = box.find(W14 + "checked")
    return TICKED if checked is not None and _on(checked.get(W14 + "val")) else UNTICKED


def _form_field_value(ff) -> str:
    """What a legacy form field without result text shows: a FORMCHECKBOX's state, a FORMDROPDOWN's entry."""
    box = ff.find(W + "checkBox")
    if box is not None:
        checked = box.find(W + "checked")
        if checked is not None:
            return TICKED if _on(checked.get(W + "val")) else UNTICKED
        default = box.find(W + "default")
        return TICKED if default is not None and _on(default.get(W + "val")) else UNTICKED
    dd = ff.find(W + "ddList")
    if dd is not None:
        entries = [e.get(W + "val") or "" for e in dd.findall(W + "listEntry")]
        pick = dd.find(W + "result")
        if pick is None:
            pick = dd.find(W + "default")
        i = _int(pick.get(W + "val"), 0) if pick is not None else 0
        return entries[i] if 0 <= i < len(entries) else ""
    return ""
