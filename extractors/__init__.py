"""Extractors: one backend per file format, one shared assembly step.

    form = extractors.extract(data, "申报书.docx")

``sniff`` tells the type from the bytes (a legacy .doc/.wps/.rtf is converted to docx first,
:mod:`extractors.convert`), :data:`BACKENDS` maps that type to its backend, the backend
turns the bytes into a :class:`~extractors.layout.Layout`, and :func:`~extractors.assemble.assemble`
turns any Layout into an :class:`~formintake.models.ExtractedForm`. ``extract`` never raises for a bad
file: problems come back as intake findings.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from formintake.extractors.assemble import assemble
from formintake.extractors.convert import to_docx
from formintake.extractors.docx import read_docx
from formintake.extractors.image import read_image_file
from formintake.extractors.layout import Layout
from formintake.extractors.pages import from_outcome, merge
from formintake.extractors.pdf import read_pdf
from formintake.extractors.sniff import Sniffed, sniff
from formintake.models import Evidence, ExtractedForm
from formintake.findings import make_finding

__all__ = ["extract", "read", "finish", "Deferred", "BACKENDS", "sniff", "assemble"]


def _docx(data: bytes, *, size_limit_bytes: int, deadline: float, defer_ocr: bool, sniffed: Sniffed) -> Layout:
    return read_docx(data, size_limit_bytes=size_limit_bytes, package=sniffed.package)


def _pdf(data: bytes, *, size_limit_bytes: int, deadline: float, defer_ocr: bool, sniffed: Sniffed) -> Layout:
    return read_pdf(data, deadline=deadline, defer_ocr=defer_ocr)


def _image(data: bytes, *, size_limit_bytes: int, deadline: float, defer_ocr: bool, sniffed: Sniffed) -> Layout:
    return read_image_file(data, deadline=deadline, defer_ocr=defer_ocr)


# sniffed content type -> backend
BACKENDS: dict[str, Callable[..., Layout]] = {"docx": _docx, "pdf": _pdf, "image": _image}


@dataclass
class Deferred:
    """A file read up to its scanned pages: run its ``layout.ocr_tasks`` (one OCR task a page, anywhere:
    :func:`extractors.isolated.read_in_parts`), then :func:`finish` with their outcomes. ``data`` is what
    the tasks read; ``finish`` does not need it."""

    layout: Layout
    filename: str
    timeout_s: float
    started: float  # wall clock (time.time()): the tasks and the last step may run in other processes
    data: bytes | None = None


def extract(data: bytes, filename: str, *, size_limit_bytes: int = 50 * 2**20, timeout_s: float = 60) -> ExtractedForm:
    """Read one uploaded file into an ExtractedForm (fields with evidence, intake findings)."""
    form = read(data, filename, size_limit_bytes=size_limit_bytes, timeout_s=timeout_s)
    assert isinstance(form, ExtractedForm)
    return form


def read(data: bytes, filename: str, *, size_limit_bytes: int = 50 * 2**20, timeout_s: float = 60,
         defer_ocr: bool = False) -> ExtractedForm | Deferred:
    """:func:`extract`, or with ``defer_ocr`` a :class:`Deferred` when the file has pages to OCR (its
    pages become tasks for the extraction pool, each with its own limit, instead of being read here)."""
    t0 = time.time()
    deadline = time.monotonic() + timeout_s
    try:
        sniffed = sniff(data, filename, size_limit_bytes)
        if sniffed.convertible:  # .doc / .wps / .rtf: to docx with LibreOffice, then read as a docx
            converted, found = to_docx(data, sniffed.kind, deadline=deadline, size_limit_bytes=size_limit_bytes)
            if converted is not None:
                sniffed.kind, data, sniffed.package = "docx", converted, None
            else:  # not read at all: "read by its content" (FILE_TYPE_MISMATCH) would not be true
                sniffed.findings = [f for f in sniffed.findings if f.code != "FILE_TYPE_MISMATCH"]
            sniffed.findings.extend(found)
        backend = BACKENDS.get(sniffed.kind)
        if backend is None or not sniffed.readable:
            form = ExtractedForm(source=filename, file_type=sniffed.kind if sniffed.kind in BACKENDS else "unknown")
            form.intake_findings.extend(sniffed.findings)
        else:
            layout = backend(data, size_limit_bytes=size_limit_bytes, deadline=deadline, defer_ocr=defer_ocr,
                             sniffed=sniffed)
            layout.findings[:0] = sniffed.findings
            if layout.ocr_tasks:
                data, layout.ocr_data = layout.ocr_data or data, None
                return Deferred(layout, filename, timeout_s, t0, data)
            form = _form(layout, filename, timeout_s, deadline)
    except Exception as e:  # our bug (a backend names every bad-file case it knows): never let one file stop a batch
        form = _internal_error(filename, e)
    form.extract_ms = round((time.time() - t0) * 1000, 2)
    return form


def finish(deferred: Deferred, outcomes: list, page_timeout_s: float) -> ExtractedForm:
    """The deferred file with its pages' outcomes (in ``layout.ocr_tasks`` order): the ExtractedForm."""
    try:
        layout = deferred.layout
        reads = {t.page: from_outcome(t, out) for t, out in zip(layout.ocr_tasks, outcomes)}
        form = _form(merge(layout, reads, page_timeout_s), deferred.filename, deferred.timeout_s, None)
    except Exception as e:  # noqa: BLE001 - as in read()
        form = _internal_error(deferred.filename, e)
    form.extract_ms = round((time.time() - deferred.started) * 1000, 2)
    return form


def _form(layout: Layout, filename: str, timeout_s: float, deadline: float | None) -> ExtractedForm:
    form = assemble(layout, filename)
    if layout.scans or layout.failed_pages:
        from formintake.extractors.ocr import scan_findings  # deferred: ocr.py loads cv2 and numpy

        form.intake_findings.extend(scan_findings(form, layout))
        form.ocr_pages = [{"page": s.page, "worker": s.worker, "seconds": s.seconds, "seals": len(s.seals),
                           **s.timings} for s in layout.scans]
        form.ocr_pages += [{"page": f.page, "worker": f.worker, "seconds": f.seconds, "failed": f.status}
                           for f in layout.failed_pages]
        form.ocr_pages.sort(key=lambda p: p["page"])
    if deadline is not None and time.monotonic() > deadline \
            and not any(f.code == "FILE_TIMEOUT" for f in form.intake_findings):
        form.intake_findings.append(make_finding(
            "FILE_TIMEOUT", message=f"文件处理超过{timeout_s:g}秒", evidence=Evidence(method="file"),
            message_en=f"extraction took longer than {timeout_s:g} s"))
    return form


def _internal_error(filename: str, e: Exception) -> ExtractedForm:
    # INTERNAL_ERROR, not FILE_CORRUPT: the applicant is not told their file is broken because of our bug
    # the traceback travels with the form: the process that runs the pipeline logs it (pipeline)
    form = ExtractedForm(source=filename, internal_traceback=traceback.format_exc()[-4000:])
    form.intake_findings.append(make_finding(
        "INTERNAL_ERROR", message="系统处理出错（读取文件时），不是申报单位的问题；将在下次运行时重试",
        evidence=Evidence(method="file"), message_en=f"extractor error: {type(e).__name__}: {e}"[:300]))
    return form
