"""Image backend: a photographed or scanned form uploaded as JPEG / PNG / TIFF (every TIFF page).

Each image is one page, read by OCR (:mod:`extractors.ocr`) into the same layout blocks as a PDF.
Resolution: the file's own dpi when it states a plausible one, else the image is taken as an A4 page.
"""

from __future__ import annotations

import io

from formintake.extractors.layout import Layout
from formintake.extractors.pages import OcrTask, read_or_defer
from formintake.extractors.tuning import TUNING
from formintake.models import Evidence
from formintake.findings import make_finding

_FILE = Evidence(method="file")


def read_image_file(data: bytes, *, deadline: float | None = None, defer_ocr: bool = False) -> Layout:
    """Every frame (page) of the image is an OCR task (:mod:`extractors.pages`): read here one after the
    other, or left in ``layout.ocr_tasks`` when ``defer_ocr``."""
    from PIL import Image, UnidentifiedImageError  # deferred: Pillow only for image uploads

    layout = Layout("image")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        n_frames = min(getattr(img, "n_frames", 1), TUNING.image_max_pages)
        sizes = []
        for i in range(n_frames):  # the size of every page before any is decoded
            img.seek(i)
            sizes.append((img.width, img.height))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        layout.findings.append(make_finding(
            "FILE_CORRUPT", message="图片文件已损坏，无法解码", evidence=_FILE, message_en=f"broken image: {e}"[:300]))
        return layout
    layout.pages = n_frames
    for i, (w, h) in enumerate(sizes):
        if w * h > TUNING.image_max_pixels:
            layout.findings.append(make_finding(
                "FILE_TOO_LARGE", message=f"图片第{i + 1}页像素过多（{w}×{h}），无法识别",
                value=w * h, expected=f"≤{TUNING.image_max_pixels}像素", evidence=_FILE,
                message_en="image too large to OCR"))
            return layout
        layout.ocr_tasks.append(OcrTask(i + 1, i))
    return read_or_defer(layout, data, deadline, defer_ocr)

