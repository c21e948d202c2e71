"""PDF backend: text PDFs into a :class:`~extractors.layout.Layout`.

Text comes from pypdfium2 (about 2 ms a page). pdfminer, which pdfplumber is built on, drops glyphs
such as ☑ ☐ in PDFs made with reportlab's CID font STSong-Light and spends most of its time parsing
glyphs; pdfium keeps the glyphs. Table geometry is pdfplumber's line strategy (its ``TableFinder``:
merge edges, intersections, cells, tables) fed with the ruling lines pdfium reads from the page's path
objects, so no page is parsed twice. Every character is placed by its centre into a table cell or
into a text line outside tables; cells and lines keep their bbox (pdfplumber coordinates: ``x0, top,
x1, bottom`` in points, ``top`` measured from the top of the page).

Pages without a usable text layer that show an image (scans) are read by OCR
(:mod:`extractors.ocr`) into the same blocks; pages where OCR finds nothing either raise FILE_NO_TEXT.
"""

from __future__ import annotations

import ctypes
import time

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.table import Table, TableFinder, TableSettings, cells_to_tables, edges_to_intersections

from formintake.extractors.layout import Cell, Layout, Para, Row
from formintake.extractors.pages import OcrTask, read_or_defer
from formintake.extractors.tuning import TUNING
from formintake.models import Evidence
from formintake.findings import make_finding

TABLE_SETTINGS = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
_FILE = Evidence(method="file")


class _Char:
    """One character placed on the page (pdfplumber coordinates) with its centre, computed once: the
    centre is what places it into a cell or a line, thousands of times a page."""

    __slots__ = ("ch", "x0", "top", "x1", "bottom", "idx", "conf", "cx", "cy")

    def __init__(self, ch: str, x0: float, top: float, x1: float, bottom: float, idx: int, conf: float = 1.0) -> None:
        self.ch, self.x0, self.top, self.x1, self.bottom, self.idx = ch, x0, top, x1, bottom, idx
        self.conf = conf  # OCR: the recogniser's confidence for the text box the character came from
        self.cx = (x0 + x1) / 2
        self.cy = (top + bottom) / 2

    def __repr__(self) -> str:
        return f"_Char({self.ch!r}, {self.x0:.1f}, {self.top:.1f}, {self.x1:.1f}, {self.bottom:.1f}, {self.idx})"


class _EdgePage:
    """The two attributes pdfplumber's TableFinder reads from a page under the line strategy."""

    def __init__(self, edges: list[dict], bbox: tuple[float, float, float, float]) -> None:
        self.edges = edges
        self.bbox = bbox


def read_pdf(data: bytes, *, deadline: float | None = None, ocr: bool = True, defer_ocr: bool = False) -> Layout:
    """Read a PDF: text-layer pages on the fast path; pages that are only an image go through OCR
    (:mod:`extractors.ocr`) when ``ocr`` is on, else they are FILE_NO_TEXT. ``defer_ocr``: leave those
    pages in ``layout.ocr_tasks`` (one task a page, :mod:`extractors.pages`) with the bytes to read them
    from in ``layout.ocr_data``; otherwise they are read here, one after the other."""
    layout = Layout("pdf")
    data, corrupt = _trim_tail(data)
    if corrupt:
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
        skipped: dict[str, list[int]] = {}
        n_table = 0
        for i in range(n_pages):
            if deadline is not None and time.monotonic() > deadline:
                layout.findings.append(make_finding(
                    "FILE_TIMEOUT", message=f"处理超时，已读取{i}/{n_pages}页", evidence=_FILE,
                    message_en=f"timeout after {i} of {n_pages} pages"))
                break
            page = doc[i]
            try:
                blocks, n_table, has_text, why = _read_page(page, i + 1, n_table)
                if why:
                    skipped.setdefault(why, []).append(i + 1)
                if not has_text and ocr and _is_scan(page):
                    layout.ocr_tasks.append(OcrTask(i + 1, i))
                elif not has_text:
                    layout.no_text.append(i + 1)
                layout.blocks.extend(blocks)
            finally:
                page.close()
        for why, pages_ in skipped.items():
            what = "线条" if why == "edges" else "文字"
            layout.findings.append(make_finding(
                "FILE_TABLES_SKIPPED",
                message=f"PDF第{'、'.join(map(str, pages_))}页{what}过多，未识别表格结构，已按纯文字读取，请人工核对",
                value=pages_, evidence=_FILE,
                message_en=f"too many {why} on pages {pages_}: tables not rebuilt, read as plain text"))
    except pdfium.PdfiumError as e:
        layout.blocks.clear()
        layout.ocr_tasks, layout.no_text = [], []
        layout.findings.append(make_finding(
            "FILE_CORRUPT", message="PDF文件已损坏，无法读取页面", evidence=_FILE, message_en=f"broken PDF: {e}"[:300]))
        return layout
    finally:
        doc.close()
    return read_or_defer(layout, data, deadline, defer_ocr)


_TAIL_MARKERS = (b" obj", b"xref", b"trailer", b"startxref", b"endstream")


def _trim_tail(data: bytes) -> tuple[bytes, bool]:
    """(the PDF up to its last %%EOF, truncated?). Bytes after %%EOF that are no PDF structure (padding,
    a mail gateway's footer) are dropped; a file whose last %%EOF is followed by objects was cut short."""
    if b"%%EOF" in data[-2048:]:
        return data, False
    at = data.rfind(b"%%EOF")
    if at < 0:
        return data, True
    tail = data[at + 5:]
    if any(m in tail for m in _TAIL_MARKERS):
        return data, True  # an incremental update cut short: reading the older revision would mislead
    return data[: at + 5] + b"\n", False


def _is_scan(page) -> bool:
    """A page worth OCR: it shows at least one image (a scan, a photo)."""
    for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
        return True
    return False


# one page ---------------------------------------------------------------------------------------
def _read_page(page, page_no: int, n_table: int) -> tuple[list, int, bool, str | None]:
    """(blocks, next table index, has a text layer, why tables were skipped or None)."""
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
        # tp.get_charbox(j, loose=True) without its wrapper: one rectangle reused for every character
        rect, loose_box, raw = pdfium_c.FS_RECTF(), pdfium_c.FPDFText_GetLooseCharBox, tp.raw
        for j, ch in enumerate(text):
            if ch.isspace() or ch == "\ufffe" or ch == "\x00":
                if ch not in "\r\n":  # pdfium's own line breaks say nothing about spaces
                    space_before.add(len(chars))
                continue
            if not loose_box(raw, j, rect):
                raise pdfium.PdfiumError("Failed to get charbox.")
            x0, y0, x1, y1 = rect.left, rect.bottom, rect.right, rect.top
            chars.append(_Char(ch, x0 - left, height - y1, x1 - left, height - y0, len(chars)))
    finally:
        tp.close()
    if len(chars) < TUNING.min_text_chars and _is_scan(page) or not chars:
        return [], n_table, False, None  # no usable text layer
    edges, over_budget = _edges(page, left, height, TUNING.table_edge_budget)
    skipped = None
    if over_budget or len(chars) > TUNING.table_char_budget:
        skipped = ("edges" if over_budget else "chars")
        edges = []
    tables = find_tables(edges, (0, 0, right - left, top - bottom))
    blocks, n_table = page_blocks(chars, space_before, tables, page_no, n_table)
    return blocks, n_table, True, skipped


def find_tables(edges: list[dict], bbox: tuple[float, float, float, float]) -> list:
    """pdfplumber's line-strategy tables (two cells or more) from ruling edges in page points."""
    if not edges:
        return []
    finder = _TableFinder(_EdgePage(edges, bbox), TABLE_SETTINGS)
    return [t for t in finder.tables if len(t.cells) >= 2]


class _TableFinder(TableFinder):
    """pdfplumber's TableFinder (pdfplumber is pinned) with :func:`intersections_to_cells` in place of
    its own: the same cells, without rebuilding two sets of edges for every pair of points it compares
    (a fifth of a text page's time went there)."""

    def __init__(self, page, settings) -> None:  # TableFinder.__init__ with the one function replaced
        self.page = page
        self.settings = TableSettings.resolve(settings)
        self.edges = self.get_edges()
        self.intersections = edges_to_intersections(
            self.edges, self.settings.intersection_x_tolerance, self.settings.intersection_y_tolerance)
        self.cells = intersections_to_cells(self.intersections)
        self.tables = [Table(self.page, group) for group in cells_to_tables(self.cells)]


def intersections_to_cells(intersections: dict) -> list[tuple]:
    """pdfplumber.table.intersections_to_cells, computed alike: for each intersection point in sorted
    order, the smallest cell it is the top-left corner of (the first point below it and the first point
    right of it that its edges reach, whose bottom-right corner closes the cell). Each point's edge
    boxes are made into sets once, and the points below / right of a point come from per-column /
    per-row lists instead of a scan of every later point."""
    v_boxes = {p: {_bbox(e) for e in got["v"]} for p, got in intersections.items()}
    h_boxes = {p: {_bbox(e) for e in got["h"]} for p, got in intersections.items()}

    def connects(p1, p2) -> bool:
        return (p1[0] == p2[0] and not v_boxes[p1].isdisjoint(v_boxes[p2])) or \
            (p1[1] == p2[1] and not h_boxes[p1].isdisjoint(h_boxes[p2]))

    points = sorted(intersections)
    same_x: dict[float, list] = {}
    same_y: dict[float, list] = {}
    for pt in points:  # in sorted order: the later points of a column / row follow a point in its list
        same_x.setdefault(pt[0], []).append(pt)
        same_y.setdefault(pt[1], []).append(pt)
    at_x = {pt: i for col in same_x.values() for i, pt in enumerate(col)}
    at_y = {pt: i for row in same_y.values() for i, pt in enumerate(row)}
    cells = []
    for pt in points:
        below = same_x[pt[0]][at_x[pt] + 1:]
        right = same_y[pt[1]][at_y[pt] + 1:]
        cell = _smallest_cell(pt, below, right, intersections, connects)
        if cell:
            cells.append(cell)
    return cells


def _smallest_cell(pt, below, right, intersections, connects):
    for below_pt in below:
        if not connects(pt, below_pt):
            continue
        for right_pt in right:
            if not connects(pt, right_pt):
                continue
            bottom_right = (right_pt[0], below_pt[1])
            if bottom_right in intersections and connects(bottom_right, right_pt) \
                    and connects(bottom_right, below_pt):
                return (pt[0], pt[1], bottom_right[0], bottom_right[1])
    return None


def _bbox(edge: dict) -> tuple:
    return (edge["x0"], edge["top"], edge["x1"], edge["bottom"])  # pdfplumber.utils.obj_to_bbox


def page_blocks(chars: list[_Char], space_before: set[int], tables: list, page_no: int, n_table: int,
                ocr: bool = False) -> tuple[list, int]:
    """Characters placed into table cells (by their centre) or free text lines, as blocks in reading order.

    Shared by the text layer and OCR (``ocr=True``: evidence method ``ocr`` with the lowest confidence
    of the characters of each line or cell)."""
    text_method, table_method = ("ocr", "ocr") if ocr else ("pdf-text", "pdf-table")
    cell_chars: dict[tuple[int, int, int], list[_Char]] = {}
    rows_of = {id(t): t.rows for t in tables}  # (pdfplumber computes a table's rows anew at every read)
    # per table: its bbox and its rows, each with the vertical band its cells cover and its cells
    # (row_no, col_no, bbox) in order. A character goes to the first cell, in row and column order, that
    # holds its centre; a row whose band does not hold the centre has no such cell and is skipped.
    grid = []
    for t in tables:
        rows_ = []
        for r_no, row in enumerate(rows_of[id(t)]):
            cells_ = [(r_no, c_no, bbox) for c_no, bbox in enumerate(row.cells) if bbox is not None]
            if cells_:
                rows_.append((min(b[1] for _, _, b in cells_), max(b[3] for _, _, b in cells_), cells_))
        grid.append((id(t), t.bbox, rows_))
    free: list[_Char] = []
    for c in chars:
        cx, cy = c.cx, c.cy
        placed = False
        for tid, (tx0, tt, tx1, tb), rows_ in grid:
            if not (tx0 <= cx <= tx1 and tt <= cy <= tb):
                continue
            for band_top, band_bottom, cells_ in rows_:
                if not band_top <= cy <= band_bottom:
                    continue
                for r_no, c_no, (x0, t0, x1, b0) in cells_:
                    if t0 <= cy <= b0 and x0 <= cx <= x1:
                        cell_chars.setdefault((tid, r_no, c_no), []).append(c)
                        placed = True
                        break
                if placed:
                    break
            if placed:
                break
        if not placed:
            free.append(c)

    def conf(cs) -> float | None:
        return round(min(c.conf for c in cs), 3) if ocr and cs else None

    # blocks in reading order: free lines and whole tables, by their top
    items: list[tuple[float, int, object]] = []
    for ln in _lines(free, space_before):
        items.append((ln[1][1], 0, ln))
    for t in tables:
        items.append((t.bbox[1], 1, t))
    items.sort(key=lambda x: (x[0], x[1]))
    blocks: list = []
    for _, kind, obj in items:
        if kind == 0:
            text_, bbox, boxes, _, row_chars = obj
            blocks.append(Para(text_, Evidence(method=text_method, page=page_no, bbox=_r(bbox),
                                               confidence=conf(row_chars)), boxes))
            continue
        t = obj
        for r_no, row in enumerate(rows_of[id(t)]):
            cells: list[Cell] = []
            for c_no, bbox in enumerate(row.cells):
                if bbox is None:
                    continue
                span = 1
                while c_no + span < len(row.cells) and row.cells[c_no + span] is None:
                    span += 1
                in_cell = cell_chars.get((id(t), r_no, c_no), [])
                lines = _lines(in_cell, space_before)
                ev = Evidence(method=table_method, page=page_no, bbox=_r(bbox), table=n_table, row=r_no, col=c_no,
                              confidence=conf(in_cell))
                cells.append(Cell(_join_cell_lines(lines, space_before), c_no, ev, span))
            blocks.append(Row(cells, n_table, r_no, page_no))
        n_table += 1
    return blocks, n_table


def _join_cell_lines(lines, space_before: set[int]) -> str:
    """Lines of one cell: "\n" between them, except inside a word that wrapped (``abc`` | ``def``)."""
    out = ""
    for text, _, _, first_idx, _ in lines:
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
    slack, step, space_gap = TUNING.line_band_slack, TUNING.line_centre_step, TUNING.space_gap
    for c in sorted(chars, key=lambda c: (c.cy, c.x0)):
        if rows:
            h = max(band_bot - band_top, 1.0)
            if band_top - slack * h <= c.cy <= band_bot and abs(c.cy - last_cy) < step * h:
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
                if (c.idx in space_before and c.idx == prev.idx + 1) or gap > space_gap * size:
                    text.append(" ")
                    boxes.append((prev.x1, prev.top, c.x0, prev.bottom))
            text.append(c.ch)
            boxes.append((c.x0, c.top, c.x1, c.bottom))
            prev = c
        bbox = (min(c.x0 for c in row), min(c.top for c in row), max(c.x1 for c in row), max(c.bottom for c in row))
        out.append(("".join(text), bbox, boxes, row[0].idx, row))
    return out


def _edges(page, left: float, height: float, budget: int = TUNING.table_edge_budget) -> tuple[list[dict], bool]:
    """Horizontal and vertical ruling segments of the page's path objects, as pdfplumber edges; and
    whether the page has more than ``budget`` of them (then collection stops early)."""
    edges: list[dict] = []
    x = ctypes.c_float()
    y = ctypes.c_float()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=4):
        if len(edges) > budget:
            return edges, True
        raw = obj.raw
        n = pdfium_c.FPDFPath_CountSegments(raw)
        if n <= 0 or n > TUNING.path_max_segments:
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
            if abs(y0 - y1) < TUNING.ruling_max_lean and abs(x1 - x0) >= TUNING.ruling_min_length:
                xa, xb = sorted((x0, x1))
                t = height - y0
                edges.append({"x0": xa - left, "x1": xb - left, "top": t, "bottom": t, "width": xb - xa,
                              "height": 0.0, "orientation": "h", "object_type": "line"})
            elif abs(x0 - x1) < TUNING.ruling_max_lean and abs(y1 - y0) >= TUNING.ruling_min_length:
                ya, yb = sorted((height - y0, height - y1))
                edges.append({"x0": x0 - left, "x1": x0 - left, "top": ya, "bottom": yb, "width": 0.0,
                              "height": yb - ya, "orientation": "v", "object_type": "line"})
    return edges, len(edges) > budget
