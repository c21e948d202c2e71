"""Image backend: a photographed or scanned form uploaded as JPEG / PNG / TIFF (every TIFF page).

Each image is one page, read by OCR (:mod:`extractors.ocr`) into the same layout blocks as a PDF.
Resolution: the file's own dpi when it states a plausible one, else the image is taken as an A4 page.
"""

from __future__ import annotations

import io
import time

from formintake.extractors.layout import Layout
from formintake.extractors.tuning import TUNING
from formintake.models import Evidence
from formintake.findings import make_finding

A4_LONG_IN = 11.69
_FILE = Evidence(method="file")


def read_image_file(data: bytes, *, deadline: float | None = None) -> Layout:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    import numpy as np

    layout = Layout("image")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        layout.findings.append(make_finding(
            "FILE_CORRUPT", message="图片文件已损坏，无法解码", evidence=_FILE, message_en=f"broken image: {e}"[:300]))
        return layout
    from formintake.extractors.ocr import read_image

    frames = list(ImageSequence.Iterator(img))[:TUNING.image_max_pages]
    layout.pages = len(frames)
    no_text: list[int] = []
    n_table = 0
    for i, frame in enumerate(frames):
        if deadline is not None and time.monotonic() > deadline:
            layout.findings.append(make_finding(
                "FILE_TIMEOUT", message=f"处理超时，已读取{i}/{len(frames)}页", evidence=_FILE,
                message_en=f"timeout after {i} of {len(frames)} pages"))
            break
        if frame.width * frame.height > TUNING.image_max_pixels:
            layout.findings.append(make_finding(
                "FILE_TOO_LARGE", message=f"图片第{i + 1}页像素过多（{frame.width}×{frame.height}），无法识别",
                value=frame.width * frame.height, expected=f"≤{TUNING.image_max_pixels}像素", evidence=_FILE,
                message_en="image too large to OCR"))
            return layout
        colour = frame.mode not in ("1", "L", "LA", "I", "I;16", "F")
        rgb = np.asarray(frame.convert("RGB"))
        blocks, n_table, scan = read_image(rgb, _dpi(frame), i + 1, n_table, colour=colour)
        layout.scans.append(scan)
        layout.blocks.extend(blocks)
        if not blocks:
            no_text.append(i + 1)
    if no_text:
        every = len(no_text) == len(frames)
        layout.findings.append(make_finding(
            "FILE_NO_TEXT",
            message="图片中未识别出文字，无法读取内容" if every else f"图片第{'、'.join(map(str, no_text))}页未识别出文字，请人工核对",
            severity="error" if every else "warning", value=no_text, evidence=_FILE,
            message_en=f"no text recognised on pages {no_text}"))
    return layout


def _dpi(frame) -> float:
    dpi = frame.info.get("dpi")
    try:
        d = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        d = 0.0
    if 70 <= d <= 1200:
        return d
    return max(frame.width, frame.height) / A4_LONG_IN  # assume an A4 page
