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

from formintake.extractors.assemble import assemble
from formintake.extractors.convert import to_docx
from formintake.extractors.docx import read_docx
from formintake.extractors.image import read_image_file
from formintake.extractors.layout import Layout
from formintake.extractors.pdf import read_pdf
from formintake.extractors.sniff import sniff
from formintake.models import Evidence, ExtractedForm
from formintake.findings import make_finding

__all__ = ["extract", "BACKENDS", "sniff", "assemble"]


def _docx(data: bytes, *, size_limit_bytes: int, deadline: float) -> Layout:
    return read_docx(data, size_limit_bytes=size_limit_bytes)


def _pdf(data: bytes, *, size_limit_bytes: int, deadline: float) -> Layout:
    return read_pdf(data, deadline=deadline)


def _image(data: bytes, *, size_limit_bytes: int, deadline: float) -> Layout:
    return read_image_file(data, deadline=deadline)


# sniffed content type -> backend
BACKENDS: dict[str, Callable[..., Layout]] = {"docx": _docx, "pdf": _pdf, "image": _image}


def extract(data: bytes, filename: str, *, size_limit_bytes: int = 50 * 2**20, timeout_s: float = 60) -> ExtractedForm:
    """Read one uploaded file into an ExtractedForm (fields with evidence, intake findings)."""
    t0 = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    try:
        sniffed = sniff(data, filename, size_limit_bytes)
        if sniffed.convertible:  # .doc / .wps / .rtf: to docx with LibreOffice, then read as a docx
            converted, found = to_docx(data, sniffed.kind, deadline=deadline, size_limit_bytes=size_limit_bytes)
            if converted is not None:
                sniffed.kind, data = "docx", converted
            else:  # not read at all: "read by its content" (FILE_TYPE_MISMATCH) would not be true
                sniffed.findings = [f for f in sniffed.findings if f.code != "FILE_TYPE_MISMATCH"]
            sniffed.findings.extend(found)
        backend = BACKENDS.get(sniffed.kind)
        if backend is None or not sniffed.readable:
            form = ExtractedForm(source=filename, file_type=sniffed.kind if sniffed.kind in BACKENDS else "unknown")
            form.intake_findings.extend(sniffed.findings)
        else:
            layout = backend(data, size_limit_bytes=size_limit_bytes, deadline=deadline)
            layout.findings[:0] = sniffed.findings
            form = assemble(layout, filename)
            if layout.scans:
                from formintake.extractors.ocr import scan_findings

                form.intake_findings.extend(scan_findings(form, layout))
            if time.monotonic() > deadline and not any(f.code == "FILE_TIMEOUT" for f in form.intake_findings):
                form.intake_findings.append(make_finding(
                    "FILE_TIMEOUT", message=f"文件处理超过{timeout_s:g}秒", evidence=Evidence(method="file"),
                    message_en=f"extraction took longer than {timeout_s:g} s"))
    except Exception as e:  # our bug (a backend names every bad-file case it knows): never let one file stop a batch
        # INTERNAL_ERROR, not FILE_CORRUPT: the applicant is not told their file is broken because of our bug
        # the traceback travels with the form: the process that runs the pipeline logs it (pipeline)
        form = ExtractedForm(source=filename, internal_traceback=traceback.format_exc()[-4000:])
        form.intake_findings.append(make_finding(
            "INTERNAL_ERROR", message="系统处理出错（读取文件时），不是申报单位的问题；将在下次运行时重试",
            evidence=Evidence(method="file"), message_en=f"extractor error: {type(e).__name__}: {e}"[:300]))
    form.extract_ms = round((time.perf_counter() - t0) * 1000, 2)
    return form
