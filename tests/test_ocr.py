"""Scanned and photographed forms: OCR into the same fields, evidence and rules as a born-digital file.

Scans are made at test time by the scan simulator (formintake/samples/scan.py: seals, skew, a page fed
upside down, blur, noise, uneven light, dark edge, JPEG) and read by the real engine. OCR costs seconds a
page, so the set is a handful of pages and each scan is read once (one test per scan, several checks).
"""

from __future__ import annotations

import io
import os

import pytest

from formintake import extractors
from formintake.extractors.isolated import IsolatedExtractor
from formintake.samples import RenderStyle, base_values, render_pdf, truth_of
from formintake.samples.sample import build_scan_sample
from formintake.samples.scan import ScanStyle, checkbox_states, mixed_pdf, scan_pdf

def codes(form):
    return sorted(f.code for f in form.intake_findings)


def accuracy(form, truth: dict) -> tuple[float, list]:
    wrong = [(k, v, form.value(k)) for k, v in truth.items() if form.value(k) != v]
    return 1 - len(wrong) / len(truth), wrong


def stamp_blocks(form) -> list[str]:
    return sorted(f.value for f in form.intake_findings if f.code == "STAMP_MISSING")


def test_engine_models_ship_with_the_wheel():
    """Nothing is downloaded: the ONNX models load from the installed package."""
    import rapidocr_onnxruntime

    from formintake.extractors.ocr import engine

    pkg = os.path.dirname(rapidocr_onnxruntime.__file__)
    for name in ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx"):
        assert os.path.getsize(os.path.join(pkg, "models", name)) > 100_000
    assert engine() is engine()  # one engine per process


def test_scan_200dpi_colour_stamped_with_a_page_upside_down():
    """Read in the extraction pool: one OCR task a page, spread over both workers."""
    v = base_values("platform", 3)
    sample = build_scan_sample(v, RenderStyle(tick="■"), ScanStyle(dpi=200, skew=1.8, upside_down=(2,)), seed=1)
    assert sample.data[:5] == b"%PDF-"
    with IsolatedExtractor(workers=2) as ex:
        form = ex.extract(sample.data, sample.name, size_limit_bytes=50 * 2**20, timeout_s=60,
                          ocr_page_timeout_s=600)
        pool = set(ex.worker_pids())
    assert [p["page"] for p in form.ocr_pages] == [1, 2, 3]
    workers = {p["worker"] for p in form.ocr_pages}
    assert len(workers) == 2 and workers <= pool  # the pages went to both workers of the pool
    assert all(p["seconds"] > 0 and p["recognise"] > 0 for p in form.ocr_pages)
    acc, wrong = accuracy(form, sample.truth)
    assert acc >= 0.98, wrong
    right, total = checkbox_states(form, sample.truth)
    assert total >= 10 and right / total >= 0.99
    assert codes(form) == ["FILE_OCR_USED"]  # every seal in place: no STAMP_MISSING
    used = form.intake_findings[0]
    assert used.severity == "warning" and used.value["pages"] == [1, 2, 3] and "第2页旋转180°" in used.message
    ev = form.fields["uscc"].evidence
    assert ev.method == "ocr" and ev.page == 2 and ev.table is not None and ev.bbox is not None
    assert 0.5 <= ev.confidence <= 1.0
    assert form.file_type == "pdf" and form.direction == "platform"


def test_scan_150dpi_grayscale():
    """Unstamped (a grayscale seal is dark ink over the text; docs/ocr.md measures that case): every
    盖章 block is STAMP_MISSING, told by the seal's shape, not its colour."""
    v = base_values("experience_center", 5)
    sample = build_scan_sample(v, RenderStyle(tick="☑"), ScanStyle(dpi=150, grayscale=True, skew=1.0,
                                                                    jpeg_quality=60, seals=()), seed=2)
    form = extractors.extract(sample.data, sample.name, timeout_s=600)
    acc, wrong = accuracy(form, sample.truth)
    assert acc >= 0.95, wrong
    right, total = checkbox_states(form, sample.truth)
    assert right / total >= 0.99
    assert "FILE_OCR_USED" in codes(form)
    # a grayscale scan cannot show red: seals are looked for by their round shape, and it is said
    assert stamp_blocks(form) == sorted(["封面“申报单位”", "“申报单位承诺”", "“推荐单位意见”"])
    assert "灰度图像" in next(f.message for f in form.intake_findings if f.code == "STAMP_MISSING")
    assert "公章按圆形印章轮廓识别" in next(f.message for f in form.intake_findings if f.code == "FILE_OCR_USED")
    assert all(p["seals"] == 0 for p in form.ocr_pages)  # a clean grayscale form: no seal seen anywhere


def test_mixed_pdf_scanned_signature_page_without_the_applicants_seal():
    """Born-digital pages 1–2 keep the text path; the scanned page 3 is OCR'd and asked for its seals."""
    v = base_values("platform", 7)
    style = RenderStyle()
    pdf = render_pdf(v, style)
    data = mixed_pdf(pdf, scan_pdf(pdf, ScanStyle(dpi=200, seals=("cover", "opinion")), seed=3), (3,))
    form = extractors.extract(data, "申报书.pdf", timeout_s=600)
    assert form.fields["uscc"].evidence.method == "pdf-table"  # fast path, no OCR
    assert form.fields["applicant_name_commitment"].evidence.method == "ocr"
    assert form.value("applicant_name_commitment") == v["applicant_name_commitment"]
    assert form.value("recommender_date") == truth_of(v)["recommender_date"]
    ocr_used = next(f for f in form.intake_findings if f.code == "FILE_OCR_USED")
    assert ocr_used.value["pages"] == [3]
    # the commitment's seal is missing; the opinion's is there; the born-digital cover is not asked
    assert stamp_blocks(form) == ["“申报单位承诺”"]
    missing = next(f for f in form.intake_findings if f.code == "STAMP_MISSING")
    assert missing.severity == "warning" and missing.evidence.page == 3


def test_a_scanned_page_over_its_own_time_limit_is_stopped_alone():
    """The per-page limit (campaign ``ocr_page_timeout_s``): the scanned page 3 overruns it and is
    stopped; the born-digital pages are read, and FILE_TIMEOUT names the page (a warning: the rest is
    there), instead of the whole document timing out."""
    v = base_values("platform", 8)
    pdf = render_pdf(v, RenderStyle())
    data = mixed_pdf(pdf, scan_pdf(pdf, ScanStyle(dpi=200), seed=6), (3,))
    with IsolatedExtractor(workers=2) as ex:
        # 0.01 s (+ the pool's 2 s grace): far less than one page's OCR takes
        form = ex.extract(data, "申报书.pdf", size_limit_bytes=50 * 2**20, timeout_s=60, ocr_page_timeout_s=0.01)
    timeouts = [f for f in form.intake_findings if f.code == "FILE_TIMEOUT"]
    assert len(timeouts) == 1 and timeouts[0].value == [3] and timeouts[0].severity == "warning"
    assert "第3页OCR识别超过0.01秒" in timeouts[0].message
    assert form.value("uscc") == truth_of(v)["uscc"]  # page 1–2 read on the text path
    assert form.ocr_pages == [{"page": 3, "worker": form.ocr_pages[0]["worker"], "seconds": form.ocr_pages[0]["seconds"],
                               "failed": "timeout"}]
    assert "applicant_name_commitment" not in form.fields or form.value("applicant_name_commitment") is None


def test_image_uploads_jpeg_and_png_cover():
    v = base_values("platform", 11)
    jpeg = build_scan_sample(v, scan=ScanStyle(dpi=200, seals=("cover",)), seed=4, fmt="jpeg")
    png = build_scan_sample(v, scan=ScanStyle(dpi=150, seals=(), dark_edge=True), seed=5, fmt="png")
    assert jpeg.data[:3] == b"\xff\xd8\xff" and png.data[:4] == b"\x89PNG"
    # a grayscale scan of the stamped cover: the seal is found by its shape
    grey = build_scan_sample(v, scan=ScanStyle(dpi=200, grayscale=True, seals=("cover",)), seed=9, fmt="jpeg")
    for sample, missing in ((jpeg, []), (png, ["封面“申报单位”"]), (grey, [])):
        form = extractors.extract(sample.data, sample.name, timeout_s=600)
        assert form.file_type == "image"
        keys = ["project_name", "applicant_name_cover", "recommender", "apply_date"]
        if sample is grey:  # a grayscale seal is dark ink over the recommender's line: not compared there
            keys.remove("recommender")
        for key in keys:
            assert form.value(key) == sample.truth[key], (sample.name, key)
        assert "FILE_OCR_USED" in codes(form)
        assert form.fields["applicant_name_cover"].evidence.method == "ocr"  # the block is there to be asked
        assert stamp_blocks(form) == missing
    assert form.ocr_pages[0]["seals"] >= 1


def test_textless_pdf_without_an_image_is_still_no_text():
    """A page of ruled lines and no image is not a scan: FILE_NO_TEXT as before, OCR is not tried."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.rect(60, 100, 470, 40)
    c.showPage()
    c.save()
    form = extractors.extract(buf.getvalue(), "a.pdf")
    assert codes(form) == ["FILE_NO_TEXT"]


def test_samples_scans_command(tmp_path):
    """`formintake samples OUT --scans` writes scanned uploads (image-only PDFs, JPEG, PNG) with their truth."""
    import json

    from formintake.cli import main

    assert main(["samples", str(tmp_path), "--scans"]) == 0
    lines = [json.loads(x) for x in (tmp_path / ".truth.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 6 and {x["fmt"] for x in lines} == {"pdf", "jpeg", "png"}
    heads = {x["fmt"]: (tmp_path / x["path"]).read_bytes()[:4] for x in lines}
    assert heads["pdf"] == b"%PDF" and heads["jpeg"][:3] == b"\xff\xd8\xff" and heads["png"] == b"\x89PNG"
    assert sum(1 for x in lines if x["defect"] == "STAMP_MISSING") == 2
    for x in lines:  # image-only: no text layer a reader could use instead of OCR
        if x["fmt"] == "pdf" and "签章页" not in x["path"]:
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(tmp_path / x["path"]))
            assert all(doc[i].get_textpage().count_chars() == 0 for i in range(len(doc)))
