"""One generated upload: the file bytes, where it is filed, and what an extractor must find in it."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from formintake.models import DIRECTION_ZH
from formintake.samples.render import RenderStyle, render_docx, render_pdf
from formintake.samples.scan import ScanStyle, jpeg_bytes, mixed_pdf, scan_images, scan_pdf, scan_values_style
from formintake.samples.values import Raw, recommender_path_for, truth_of
from formintake.samples.wordml import render_wordml


@dataclass
class Sample:
    name: str  # file name, e.g. 苏州某某科技有限公司-信息消费体验中心.docx
    recommender_path: str  # the folder the upload is filed under (江苏省, 深圳市, 中国移动通信集团有限公司 …)
    fmt: str  # what the bytes really are: docx | pdf | scan (an image-only PDF) | png | xlsx | ole | empty
    direction: str | None
    truth: dict[str, Any]  # normalised value of every field with a value in the file
    defect: str | None
    data: bytes
    style: RenderStyle | None = None
    also: tuple[str, ...] = ()  # codes that may legitimately accompany the defect (e.g. FIELD_PLACEHOLDER)
    values: dict[str, Any] = field(default_factory=dict, repr=False)  # what was rendered

    @property
    def path(self) -> str:
        return f"{self.recommender_path}/{self.name}"


def file_stem(values: dict[str, Any]) -> str:
    name = values.get("applicant_name")
    if not name or isinstance(name, Raw):
        name = values.get("project_name")
    if not name or isinstance(name, Raw):
        name = "申报书"
    d = values.get("direction")
    return f"{name}-{DIRECTION_ZH[d]}" if d in DIRECTION_ZH else str(name)


def pdf_pages(pdf: bytes) -> int:
    import pypdfium2 as pdfium  # deferred, like every imaging library of the samples: only when one is drawn

    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def build_sample(
    values: dict[str, Any],
    style: RenderStyle | None = None,
    fmt: str = "docx",
    *,
    recommender_path: str | None = None,
    defect: str | None = None,
    name: str | None = None,
    truth: dict[str, Any] | None = None,
    also: tuple[str, ...] = (),
) -> Sample:
    """Render ``values`` as ``fmt`` and wrap it with its filing path and truth.

    ``fmt``: docx | pdf | wordml (a docx written with Word's own markup: tracked changes, legacy form
    fields, a text box …, :mod:`formintake.samples.wordml`) | scan (the PDF printed, stamped with red
    seals and scanned: its last page, with the 申报单位承诺 and 推荐单位意见, is an image, :mod:`formintake.samples.scan`)."""
    style = style or RenderStyle()
    if fmt == "wordml":
        data, fmt = render_wordml(values, style), "docx"
    elif fmt == "scan":  # the signature page printed, signed, stamped and scanned back into the PDF
        style = scan_values_style(style)
        pdf = render_pdf(values, style)
        last = pdf_pages(pdf)
        data = mixed_pdf(pdf, scan_pdf(pdf, ScanStyle(dpi=300, skew=1.2, blur=0.4), seed=3), (last,))
        name = name or f"{file_stem(values)}-盖章页扫描.pdf"
    else:
        data = render_docx(values, style) if fmt == "docx" else render_pdf(values, style)
    rec = values.get("recommender")
    path = recommender_path or (recommender_path_for(rec) if isinstance(rec, str) and rec else "未分类")
    return Sample(
        name=name or f"{file_stem(values)}.{fmt}",
        recommender_path=path,
        fmt=fmt,
        direction=values.get("direction"),
        truth=truth_of(values) if truth is None else truth,
        defect=defect,
        data=data,
        style=style,
        also=also,
        values=values,
    )


def build_scan_sample(values: dict[str, Any], style=None, scan: ScanStyle | None = None, *, seed: int = 0,
                      fmt: str = "pdf", recommender_path: str | None = None, defect: str | None = None,
                      also: tuple[str, ...] = ()):
    """A scanned upload of the form ``values`` renders to: an image-only PDF (``fmt="pdf"``) or, for
    ``jpeg`` / ``png``, the first page as a photo-like image. The truth is the clean form's."""
    style = scan_values_style(style or RenderStyle())
    scan = scan or ScanStyle()
    pdf = render_pdf(values, style)
    if fmt == "pdf":
        data = scan_pdf(pdf, scan, seed)
    else:
        img = scan_images(pdf, scan, seed)[0]
        if fmt == "png":
            buf = io.BytesIO()
            img.save(buf, "PNG", dpi=(scan.dpi, scan.dpi))
            data = buf.getvalue()
        else:
            data = jpeg_bytes(img, scan)
    rec = values.get("recommender")
    path = recommender_path or (recommender_path_for(rec) if isinstance(rec, str) and rec else "未分类")
    ext = {"pdf": "pdf", "jpeg": "jpg", "png": "png"}[fmt]
    return Sample(name=f"{file_stem(values)}-盖章扫描件.{ext}", recommender_path=path, fmt=fmt,
                  direction=values.get("direction"), truth=truth_of(values), defect=defect, data=data,
                  style=style, also=also, values=values)
