"""PDF backend: text PDFs into a :class:`~extractors.layout.Layout`.

Text comes from pypdfium2 (about 2 ms a page). pdfminer, which pdfplumber is built on, drops glyphs
such as ☑ ☐ in PDFs made with reportlab's CID font STSong-Light and spends most of its time parsing
glyphs; pdfium keeps the glyphs. Table geometry is pdfplumber's line strategy (its ``TableFinder``:
merge edges, intersections, cells, tables) fed with the ruling lines pdfium reads from the page's path
objects, so no page is parsed twice. Every character is placed by its centre into a table cell or
into a text line outside tables; cells and lines keep their bbox (pdfplumber coordinates: ``x0, top,
x1, bottom`` in points, ``top`` measured from the top of the page).

Pages without a text layer are handed to ``ocr`` when one is given (the OCR hook, see
:data:`OcrFunc`), else they raise FILE_NO_TEXT.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.table import TableFinder

from formintake.extractors.layout import Cell, Layout, Para, Row
from formintake.models import Evidence
from formintake.findings import make_finding

# OCR hook: (page image as PNG bytes, page width pt, page height pt) -> lines of (text, bbox in pt)
OcrFunc = Callable[[bytes, float, float], list[tuple[str, tuple[float, float, float, float]]]]

TABLE_SETTINGS = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
_FILE = Evidence(method="file")


@dataclass
class _Char:
    ch: str
    x0: float
    top: float
    x1: float
    bottom: float
    idx: int

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


class _EdgePage:
    """The two attributes pdfplumber's TableFinder reads from a page under the line strategy."""

    def __init__(self, edges: list[dict], bbox: tuple[float, float, float, float]) -> None:
        self.edges = edges
        self.bbox = bbox


def read_pdf(data: bytes, *, deadline: float | None = None, ocr: OcrFunc | None = None) -> Layout:
    layout = Layout("pdf")
    if b"%%EOF" not in data[-2048:]:
        layout.findings.append(make_finding(
            "FILE_CORRUPT", message="PDF文件不完整（缺少文件结束标记），可能上传被截断", evidence=_FILE,
            message_en="truncated PDF: no %%EOF at the end"))
        return layout
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if e.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            layout.findings.append(make_finding(
                "FILE_ENCRYPTED", message="PDF设置了打开密码，无法读取，请去除密码后重新上传", evidence=_FILE,
                message_en="PDF needs a password"))
        else:
            layout.findings.append(make_finding(
                "FILE_CORRUPT", message="PDF文件已损坏，无法打开", evidence=_FILE,
                message_en=f"broken PDF: {e}"[:300]))
        return layout
    try:
        n_pages = len(doc)
        layout.pages = n_pages
        if n_pages == 0:
            layout.findings.append(make_finding("FILE_CORRUPT", message="PDF没有页面", evidence=_FILE,
                                                message_en="PDF without pages"))
            return layout
        no_text: list[int] = []
        ocr_pages: list[int] = []
        n_table = 0
        for i in range(n_pages):
            if deadline is not None and time.monotonic() > deadline:
                layout.findings.append(make_finding(
                    "FILE_TIMEOUT", message=f"处理超时，已读取{i}/{n_pages}页", evidence=_FILE,
                    message_en=f"timeout after {i} of {n_pages} pages"))
                break
            page = doc[i]
            try:
                blocks, n_table, has_text = _read_page(page, i + 1, n_table)
                if not has_text and ocr is not None:
                    blocks = _ocr_page(page, i + 1, ocr)
                    if blocks:
                        ocr_pages.append(i + 1)
                        has_text = True
                if not has_text:
                    no_text.append(i + 1)
                layout.blocks.extend(blocks)
            finally:
                page.close()
        if no_text:
            every = len(no_text) == n_pages
            pages = "、".join(map(str, no_text))
            layout.findings.append(make_finding(
                "FILE_NO_TEXT",
                message=("PDF没有文字层（扫描件），无法读取内容" if every
                         else f"PDF第{pages}页没有文字层（扫描页），该页内容未读取，请人工核对"),
                severity="error" if every else "warning", value=no_text, evidence=_FILE,
                message_en=f"pages without a text layer: {no_text}"))
        if ocr_pages:
            layout.findings.append(make_finding(
                "FILE_OCR_USED", message=f"第{'、'.join(map(str, ocr_pages))}页内容来自OCR识别，请与原件核对",
                value=ocr_pages, evidence=_FILE, message_en=f"OCR used on pages {ocr_pages}"))
    except pdfium.PdfiumError as e:
        layout.blocks.clear()
        layout.findings.append(make_finding(
            "FILE_CORRUPT", message="PDF文件已损坏，无法读取页面", evidence=_FILE, message_en=f"broken PDF: {e}"[:300]))
    finally:
        doc.close()
    return layout


# one page ---------------------------------------------------------------------------------------
def _read_page(page, page_no: int, n_table: int) -> tuple[list, int, bool]:
    left, bottom, right, top = page.get_mediabox()
    height = top
    tp = page.get_textpage()
    try:
        n = tp.count_chars()
        text = tp.get_text_range(0, n) if n else ""
        chars: list[_Char] = []
        space_before: set[int] = set()
        if len(text) != n:  # pdfium's text and char arrays disagree: fall back to per-char reads
            text = "".join(tp.get_text_range(j, 1) or " " for j in range(n))
        for j, ch in enumerate(text):
            if ch.isspace() or ch == "\ufffe" or ch == "\x00":
                if ch not in "\r\n":  # pdfium's own line breaks say nothing about spaces
                    space_before.add(len(chars))
                continue
            x0, y0, x1, y1 = tp.get_charbox(j, loose=True)
            chars.append(_Char(ch, x0 - left, height - y1, x1 - left, height - y0, len(chars)))
    finally:
        tp.close()
    has_text = bool(chars)
    edges = _edges(page, left, height)
    tables = []
    if edges:
        finder = TableFinder(_EdgePage(edges, (0, 0, right - left, top - bottom)), TABLE_SETTINGS)
        tables = [t for t in finder.tables if len(t.cells) >= 2]

    # assign characters: to the table cell holding their centre, else to free text
    cell_chars: dict[tuple[int, int, int], list[_Char]] = {}
    grid = []  # per table: its bbox and its cells (row_no, col_no, bbox)
    for t in tables:
        cells_ = [(r_no, c_no, bbox) for r_no, row in enumerate(t.rows) for c_no, bbox in enumerate(row.cells)
                  if bbox is not None]
        grid.append((id(t), t.bbox, cells_))
    free: list[_Char] = []
    for c in chars:
        cx, cy = c.cx, c.cy
        placed = False
        for tid, (tx0, tt, tx1, tb), cells_ in grid:
            if not (tx0 <= cx <= tx1 and tt <= cy <= tb):
                continue
            for r_no, c_no, (x0, t0, x1, b0) in cells_:
                if t0 <= cy <= b0 and x0 <= cx <= x1:
                    cell_chars.setdefault((tid, r_no, c_no), []).append(c)
                    placed = True
                    break
            if placed:
                break
        if not placed:
            free.append(c)

    # blocks in reading order: free lines and whole tables, by their top
    items: list[tuple[float, int, object]] = []
    for ln in _lines(free, space_before):
        items.append((ln[1][1], 0, ln[:3]))
    for t in tables:
        items.append((t.bbox[1], 1, t))
    items.sort(key=lambda x: (x[0], x[1]))
    blocks: list = []
    for _, kind, obj in items:
        if kind == 0:
            text_, bbox, boxes = obj
            blocks.append(Para(text_, Evidence(method="pdf-text", page=page_no, bbox=_r(bbox)), boxes))
            continue
        t = obj
        for r_no, row in enumerate(t.rows):
            cells: list[Cell] = []
            for c_no, bbox in enumerate(row.cells):
                if bbox is None:
                    continue
                span = 1
                while c_no + span < len(row.cells) and row.cells[c_no + span] is None:
                    span += 1
                lines = _lines(cell_chars.get((id(t), r_no, c_no), []), space_before)
                ev = Evidence(method="pdf-table", page=page_no, bbox=_r(bbox), table=n_table, row=r_no, col=c_no)
                cells.append(Cell(_join_cell_lines(lines, space_before), c_no, ev, span))
            blocks.append(Row(cells, n_table, r_no, page_no))
        n_table += 1
    return blocks, n_table, has_text


def _join_cell_lines(lines, space_before: set[int]) -> str:
    """Lines of one cell: "\n" between them, except inside a word that wrapped (``abc`` | ``def``)."""
    out = ""
    for text, _, _, first_idx in lines:
        if out and out[-1].isascii() and out[-1].isalnum() and text[:1].isascii() and text[:1].isalnum() \
                and first_idx not in space_before:
            out += text
        else:
            out += ("\n" if out else "") + text
    return out


def _r(b) -> tuple[float, float, float, float]:
    return (round(b[0], 1), round(b[1], 1), round(b[2], 1), round(b[3], 1))


def _lines(chars: list[_Char], space_before: set[int]):
    """Group characters into lines (vertical overlap), left to right; spaces where the text had them."""
    if not chars:
        return []
    rows: list[list[_Char]] = []
    band_top = band_bot = last_cy = 0.0
    for c in sorted(chars, key=lambda c: (c.cy, c.x0)):
        if rows:
            h = max(band_bot - band_top, 1.0)
            if band_top - 0.1 * h <= c.cy <= band_bot and abs(c.cy - last_cy) < 0.5 * h:
                rows[-1].append(c)
                band_top, band_bot = min(band_top, c.top), max(band_bot, c.bottom)
                last_cy = c.cy
                continue
        rows.append([c])
        band_top, band_bot, last_cy = c.top, c.bottom, c.cy
    out = []
    for row in rows:
        row.sort(key=lambda c: c.x0)
        text: list[str] = []
        boxes: list[tuple[float, float, float, float]] = []
        prev: _Char | None = None
        for c in row:
            if prev is not None:
                gap = c.x0 - prev.x1
                size = c.bottom - c.top
                if (c.idx in space_before and c.idx == prev.idx + 1) or gap > 0.6 * size:
                    text.append(" ")
                    boxes.append((prev.x1, prev.top, c.x0, prev.bottom))
            text.append(c.ch)
            boxes.append((c.x0, c.top, c.x1, c.bottom))
            prev = c
        bbox = (min(c.x0 for c in row), min(c.top for c in row), max(c.x1 for c in row), max(c.bottom for c in row))
        out.append(("".join(text), bbox, boxes, row[0].idx))
    return out


def _edges(page, left: float, height: float) -> list[dict]:
    """Horizontal and vertical ruling segments of the page's path objects, as pdfplumber edges."""
    edges: list[dict] = []
    x = ctypes.c_float()
    y = ctypes.c_float()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=4):
        raw = obj.raw
        n = pdfium_c.FPDFPath_CountSegments(raw)
        if n <= 0 or n > 2000:
            continue
        m = obj.get_matrix()
        container = getattr(obj, "container", None)
        while container is not None:  # a path inside a form XObject: its matrix is relative to the form
            m = m.multiply(container.get_matrix())
            container = getattr(container, "container", None)
        a, b, c_, d, e, f = m.a, m.b, m.c, m.d, m.e, m.f
        start = prev = None
        segs: list[tuple[tuple[float, float], tuple[float, float]]] = []
        for i in range(n):
            seg = pdfium_c.FPDFPath_GetPathSegment(raw, i)
            pdfium_c.FPDFPathSegment_GetPoint(seg, x, y)
            px, py = a * x.value + c_ * y.value + e, b * x.value + d * y.value + f
            kind = pdfium_c.FPDFPathSegment_GetType(seg)
            if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
                start = prev = (px, py)
            else:
                if prev is not None and kind == pdfium_c.FPDF_SEGMENT_LINETO:
                    segs.append((prev, (px, py)))
                prev = (px, py)
                if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None and start != prev:
                    segs.append((prev, start))
                    prev = start
        for (x0, y0), (x1, y1) in segs:
            if abs(y0 - y1) < 1.0 and abs(x1 - x0) >= 3:
                xa, xb = sorted((x0, x1))
                t = height - y0
                edges.append({"x0": xa - left, "x1": xb - left, "top": t, "bottom": t, "width": xb - xa,
                              "height": 0.0, "orientation": "h", "object_type": "line"})
            elif abs(x0 - x1) < 1.0 and abs(y1 - y0) >= 3:
                ya, yb = sorted((height - y0, height - y1))
                edges.append({"x0": x0 - left, "x1": x0 - left, "top": ya, "bottom": yb, "width": 0.0,
                              "height": yb - ya, "orientation": "v", "object_type": "line"})
    return edges


def _ocr_page(page, page_no: int, ocr: OcrFunc) -> list:
    """The OCR hook: render the page, let ``ocr`` read it, keep its lines as ``ocr`` evidence."""
    import io

    scale = 2.0
    img = page.render(scale=scale).to_pil()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    w, h = page.get_size()
    blocks = []
    for text, bbox in ocr(buf.getvalue(), w, h) or []:
        if text.strip():
            blocks.append(Para(text, Evidence(method="ocr", page=page_no, bbox=_r(bbox))))
    return blocks
