"""PDFs the world makes that must still be read: bytes after %%EOF, a page of 40,000 boxes."""

from __future__ import annotations

import io

import pytest

from formintake import extractors
from formintake.samples import RenderStyle, base_values, render_pdf


@pytest.fixture(scope="module")
def pdf_form() -> bytes:
    return render_pdf(base_values("platform", 1), RenderStyle())


def codes(form):
    return sorted(f.code for f in form.intake_findings)


@pytest.mark.parametrize("tail", [
    b"\r\n" + b"\x00" * 4096,  # padding to a block size
    b"\n-- \nThis message was scanned by MailGuard. No viruses found.\n" * 60,  # a mail gateway's footer
])
def test_trailing_bytes_after_eof_are_read(pdf_form, tail):
    form = extractors.extract(pdf_form + tail, "申报书.pdf")
    assert codes(form) == [] and form.value("uscc")


def test_truncated_pdf_is_still_corrupt(pdf_form):
    assert codes(extractors.extract(pdf_form[: len(pdf_form) * 2 // 3], "a.pdf")) == ["FILE_CORRUPT"]
    # cut inside an incremental update: an older %%EOF followed by objects is no padding
    cut = pdf_form + b"\n5 0 obj\n<< /Type /Annot >>\nendobj\nxref\n0 1\n" + b" " * 3000
    assert codes(extractors.extract(cut, "a.pdf")) == ["FILE_CORRUPT"]


def _boxes_pdf(n_side: int = 200) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFont("Helvetica", 10)
    c.drawString(50, 810, "Grid of boxes, contact: 13912345678")
    for i in range(n_side):
        for j in range(n_side):
            c.rect(20 + i * 2.8, 20 + j * 3.9, 2.5, 3.5)
    c.save()
    return buf.getvalue()


def test_page_of_40000_boxes_degrades_to_text_only():
    form = extractors.extract(_boxes_pdf(200), "grid.pdf", timeout_s=60)
    cs = codes(form)
    assert "FILE_TABLES_SKIPPED" in cs and "FILE_TIMEOUT" not in cs
    skipped = next(f for f in form.intake_findings if f.code == "FILE_TABLES_SKIPPED")
    assert skipped.severity == "warning" and skipped.value == [1]


def test_a_page_with_a_few_boxes_keeps_its_tables():
    form = extractors.extract(_boxes_pdf(10), "grid.pdf")
    assert "FILE_TABLES_SKIPPED" not in codes(form)
