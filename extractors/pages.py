"""OCR one page per task, and the pages put back into the file's one layout model.

A backend (:func:`extractors.pdf.read_pdf`, :func:`extractors.image.read_image_file`) reads what it can
at once (text-layer pages) and lists the pages that need OCR as :class:`OcrTask` s. Each task is
:func:`ocr_page`: it opens the file, renders / decodes that one page and reads it by OCR, so it can run
in any process. In the extraction pool every page is a task of its own, on every worker, with its own
time limit (``ocr_page_timeout_s`` in the campaign's thresholds); in a single process the tasks run here
one after the other (:func:`run_here`), within the document's time limit. Either way
:func:`merge` puts the pages back in page order, numbers the tables through the whole file again, and
says which pages gave no text (FILE_NO_TEXT) or ran out of time (FILE_TIMEOUT, the page alone).
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass

import pypdfium2 as pdfium

from formintake.extractors.layout import Layout, Para, Row, ScanPage
from formintake.findings import make_finding
from formintake.models import Evidence

_FILE = Evidence(method="file")


@dataclass
class OcrTask:
    page: int  # 1-based page number in the file
    index: int  # 0-based page (PDF) or frame (image) index


@dataclass
class PageRead:
    """One page read by OCR: its blocks (tables numbered from 0 on the page) and what OCR saw."""

    page: int
    blocks: list
    scan: ScanPage


@dataclass
class PageFailed:
    """A page OCR did not finish: ``status`` timeout (its own limit), deadline (the document's limit in a
    single process), crashed (its worker died twice) or error (our bug: ``detail`` has the traceback)."""

    page: int
    status: str
    detail: str = ""
    seconds: float = 0.0
    worker: int | None = None


def ocr_page(data: bytes, kind: str, index: int) -> PageRead:
    """OCR page ``index`` of a PDF (``kind`` "pdf") or frame ``index`` of an image file ("image")."""
    t0 = time.perf_counter()
    if kind == "pdf":
        from formintake.extractors.ocr import ocr_pdf_page  # deferred: OCR (cv2, numpy) only on a scanned page

        doc = pdfium.PdfDocument(data)
        try:
            page = doc[index]
            try:
                blocks, _, scan = ocr_pdf_page(page, index + 1, 0)
            finally:
                page.close()
        finally:
            doc.close()
    else:
        import numpy as np  # deferred with the OCR: only scanned pages need numpy, Pillow, cv2
        from PIL import Image

        from formintake.extractors.ocr import read_image

        img = Image.open(io.BytesIO(data))
        img.seek(index)
        rgb = np.asarray(img.convert("RGB"))
        blocks, _, scan = read_image(rgb, frame_dpi(img), index + 1, 0, colour=is_colour_mode(img.mode))
    scan.worker = os.getpid()
    scan.seconds = round(time.perf_counter() - t0, 3)
    return PageRead(index + 1, blocks, scan)


A4_LONG_IN = 11.69


def is_colour_mode(mode: str) -> bool:
    """A colour image (red seals can be told from black ink), not grayscale / black and white."""
    return mode not in ("1", "L", "LA", "I", "I;16", "F")


def frame_dpi(frame) -> float:
    """An image frame's resolution: its dpi when plausible, else as if it were an A4 page."""
    dpi = frame.info.get("dpi")
    try:
        d = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        d = 0.0
    if 70 <= d <= 1200:
        return d
    return max(frame.width, frame.height) / A4_LONG_IN  # assume an A4 page


def read_or_defer(layout: Layout, data: bytes, deadline: float | None, defer: bool) -> Layout:
    """A backend's last step: its OCR tasks left for the caller (``defer``: ``layout.ocr_data`` holds the
    bytes they read), or read here and merged."""
    if layout.ocr_tasks and defer:
        layout.ocr_data = data
        return layout
    return merge(layout, run_here(layout, data, deadline))


def run_here(layout: Layout, data: bytes, deadline: float | None) -> dict[int, PageRead | PageFailed]:
    """The layout's OCR tasks in this process, one after the other, until the document's deadline."""
    reads: dict[int, PageRead | PageFailed] = {}
    for task in layout.ocr_tasks:
        if deadline is not None and time.monotonic() > deadline:
            reads[task.page] = PageFailed(task.page, "deadline")
        else:
            reads[task.page] = ocr_page(data, layout.file_type, task.index)
    return reads


def from_outcome(task: OcrTask, out) -> PageRead | PageFailed:
    """A pool outcome (:class:`extractors.isolated.Outcome`) of :func:`ocr_page` as a page result."""
    if out.status == "ok":
        return out.value
    return PageFailed(task.page, out.status, out.detail, round(out.seconds, 3), out.worker)


def merge(layout: Layout, reads: dict[int, PageRead | PageFailed], page_timeout_s: float | None = None) -> Layout:
    """Put the OCR'd pages into the layout (page order, tables numbered again through the file) and add
    FILE_NO_TEXT / FILE_TIMEOUT for the pages that gave nothing. A page that failed by our bug raises
    (the caller's guard makes it INTERNAL_ERROR)."""
    for r in reads.values():
        if isinstance(r, PageFailed) and r.status == "error":
            raise RuntimeError(f"OCR of page {r.page} failed in a worker:\n{r.detail}")
    no_text = list(layout.no_text)
    late: list[int] = []
    deadline: list[int] = []
    crashed: list[int] = []
    for page, r in sorted(reads.items()):
        if isinstance(r, PageRead):
            layout.scans.append(r.scan)
            layout.blocks.extend(r.blocks)
            if not r.blocks:
                no_text.append(page)
        else:
            {"timeout": late, "deadline": deadline, "crashed": crashed}[r.status].append(page)
            layout.failed_pages.append(r)
    layout.ocr_tasks = []
    layout.scans.sort(key=lambda s: s.page)
    _renumber(layout)
    n_pages = layout.pages or 1
    nothing = len(set(no_text) | set(late) | set(deadline) | set(crashed)) >= n_pages
    severity = "error" if nothing else "warning"
    if deadline:
        layout.findings.append(make_finding(
            "FILE_TIMEOUT", message=f"处理超时，第{_pages(deadline)}页未能识别", severity="error", value=deadline,
            evidence=_FILE, message_en=f"document time limit reached before OCR of pages {deadline}"))
    if late:
        limit = f"{page_timeout_s:g}" if page_timeout_s else "规定"
        rest = "，其余页面已读取" if not nothing else ""
        layout.findings.append(make_finding(
            "FILE_TIMEOUT", severity=severity, value=late, evidence=_FILE,
            message=f"第{_pages(late)}页OCR识别超过{limit}秒，已中止{rest}；该页内容未读取，请人工核对",
            message_en=f"OCR of pages {late} exceeded the per-page limit ({page_timeout_s} s) and was stopped; "
                       "the other pages were read"))
    if crashed:
        layout.findings.append(make_finding(
            "FILE_CORRUPT", severity=severity, value=crashed, evidence=_FILE,
            message=f"第{_pages(crashed)}页图像无法识别（识别进程异常退出），请人工核对",
            message_en=f"the OCR process died on pages {crashed}"))
    if no_text:
        every = len(no_text) == n_pages
        if layout.file_type == "image":
            message = ("图片中未识别出文字，无法读取内容" if every
                       else f"图片第{_pages(no_text)}页未识别出文字，请人工核对")
        else:
            message = ("PDF没有可读取的文字（无文字层，OCR也未识别出文字），无法读取内容" if every
                       else f"PDF第{_pages(no_text)}页没有可读取的文字（无文字层，OCR也未识别出文字），请人工核对")
        layout.findings.append(make_finding(
            "FILE_NO_TEXT", message=message, severity="error" if every else "warning", value=no_text,
            evidence=_FILE, message_en=f"pages without a text layer or OCR result: {no_text}"))
    return layout


def _pages(pages: list[int]) -> str:
    return "、".join(map(str, pages))


def _renumber(layout: Layout) -> None:
    """Blocks in page order (stable: each page keeps its reading order); tables numbered 0, 1, … through
    the file, as if the pages had been read one after the other."""
    layout.blocks.sort(key=lambda b: (b.page if isinstance(b, Row) else b.evidence.page) or 0)
    numbers: dict[tuple[int | None, int], int] = {}
    for b in layout.blocks:
        if isinstance(b, Para):
            continue
        n = numbers.setdefault((b.page, b.table), len(numbers))
        if n != b.table:
            b.table = n
            for c in b.cells:
                c.evidence = c.evidence.model_copy(update={"table": n})
