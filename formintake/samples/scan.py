"""Scan simulator: a generated PDF form printed, stamped and scanned, as an image-only PDF or images.

    pdf = render_pdf(values, style)
    scanned = scan_pdf(pdf, ScanStyle(dpi=150, grayscale=True), seed=1)        # image-only PDF
    pages = scan_images(pdf, ScanStyle(), seed=1)                               # PIL images

What a scanner and a stamp do to paper, each a knob of :class:`ScanStyle`: red seals (公章) over the
盖章 lines (cover 申报单位, 申报单位承诺, 推荐单位意见; any of them can be left out), a slight rotation
(±2°), a page fed upside down, blur, noise, uneven light, a dark scanner edge, 150–300 dpi, grayscale
or colour, JPEG quality 55–85.
"""

from __future__ import annotations

import functools
import io
import math
import random
from dataclasses import dataclass, replace
from typing import Any

from formintake.fields import BY_KEY

SEAL_BLOCKS = ("cover", "commitment", "opinion")
SCAN_TICKS = ("☑", "■", "☒", "delete")  # boxed ticks (read from the pixels) or unchosen options deleted


@dataclass(frozen=True)
class ScanStyle:
    dpi: int = 200
    grayscale: bool = False
    skew: float = 0.8  # degrees, counter-clockwise positive; each page gets ±skew
    upside_down: tuple[int, ...] = ()  # 1-based pages fed the wrong way round (180°)
    blur: float = 0.5  # Gaussian radius in pixels at 200 dpi
    noise: float = 5.0  # standard deviation of pixel noise
    light: float = 0.12  # uneven light: how much darker the dimmest corner is
    jpeg_quality: int = 75
    seals: tuple[str, ...] = SEAL_BLOCKS  # the 盖章 blocks that get a red seal
    dark_edge: bool = True  # a dark band along one side (scanner lid)


def pick_scan_style(rng: random.Random) -> ScanStyle:
    return ScanStyle(
        dpi=rng.choice((150, 200, 200, 300)), grayscale=rng.random() < 0.3, skew=rng.uniform(-2, 2),
        blur=rng.uniform(0.2, 0.9), noise=rng.uniform(2, 8), light=rng.uniform(0.05, 0.2),
        jpeg_quality=rng.randint(55, 85), dark_edge=rng.random() < 0.6)


def seal_spots(pdf: bytes) -> list[tuple[int, str, float, float]]:
    """(page 1-based, block, x pt, y pt from the top) of each 盖章 mark in a born-digital PDF."""
    import pypdfium2 as pdfium  # deferred: loaded only when a sample of this kind is drawn

    out = []
    doc = pdfium.PdfDocument(pdf)
    try:
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            h = page.get_height()
            text = tp.get_text_range()
            at = text.find("盖章")
            while at >= 0:
                line_start = text.rfind("\n", 0, at) + 1
                before = text[line_start:at]
                if "申报单位" in before:
                    block = "cover" if i == 0 else "commitment"
                elif "推荐单位" in before:
                    block = "cover_recommender" if i == 0 else "opinion"
                else:
                    block = "other"
                x0, y0, x1, y1 = tp.get_charbox(at)
                out.append((i + 1, block, x1, h - (y0 + y1) / 2))
                at = text.find("盖章", at + 2)
            tp.close()
            page.close()
    finally:
        doc.close()
    return out


def _draw_seal(img, cx: float, cy: float, dpi: float, rng: random.Random, name: str = "") -> None:
    """A round red seal (ring, star, inner ring) multiplied onto ``img`` (RGB) at pixel (cx, cy)."""
    from PIL import Image, ImageChops, ImageDraw  # deferred: loaded only when a sample of this kind is drawn

    r = 0.82 * dpi  # 42 mm across
    size = int(2 * r + 8)
    layer = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(layer)
    red = (215 + rng.randint(-15, 15), 35 + rng.randint(-15, 20), 40 + rng.randint(-15, 20))
    c = size / 2
    w = max(2, int(dpi / 40))
    d.ellipse((c - r, c - r, c + r, c + r), outline=red, width=w)
    d.ellipse((c - 0.86 * r, c - 0.86 * r, c + 0.86 * r, c + 0.86 * r), outline=red, width=max(1, w // 2))
    star = [(c + 0.28 * r * math.sin(k * math.pi / 5) * (1 if k % 2 == 0 else 0.4),
             c - 0.28 * r * math.cos(k * math.pi / 5) * (1 if k % 2 == 0 else 0.4)) for k in range(10)]
    d.polygon(star, fill=red)
    # the unit's name along the ring, as strokes
    for k in range(14):
        a = math.pi * (0.8 + 1.4 * k / 13)
        x, y = c + 0.68 * r * math.cos(a), c + 0.68 * r * math.sin(a)
        d.line((x - 0.07 * r * math.cos(a), y - 0.07 * r * math.sin(a), x + 0.07 * r * math.cos(a),
                y + 0.07 * r * math.sin(a)), fill=red, width=max(1, w // 2))
        d.line((x - 0.05 * r * math.sin(a), y + 0.05 * r * math.cos(a), x + 0.05 * r * math.sin(a),
                y - 0.05 * r * math.cos(a)), fill=red, width=max(1, w // 2))
    layer = layer.rotate(rng.uniform(-30, 30), fillcolor=(255, 255, 255))
    x0, y0 = int(cx - size / 2), int(cy - size / 2)
    region = img.crop((x0, y0, x0 + size, y0 + size))
    img.paste(ImageChops.multiply(region, layer), (x0, y0))


def scan_images(pdf: bytes, style: ScanStyle | None = None, seed: int = 0) -> list:
    """The pages of ``pdf`` as scanned images (PIL, RGB or L), at ``style.dpi``."""
    import cv2  # deferred: loaded only when a sample of this kind is drawn
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    style = style or ScanStyle()
    rng = random.Random(f"scan:{seed}")
    nrng = np.random.default_rng(seed)
    spots = seal_spots(pdf) if style.seals else []
    scale = style.dpi / 72
    doc = pdfium.PdfDocument(pdf)
    pages = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            img = page.render(scale=scale).to_pil().convert("RGB")
            page.close()
            for p, block, x, y in spots:
                if p == i + 1 and (block in style.seals or (block == "cover_recommender" and "cover" in style.seals)):
                    _draw_seal(img, x * scale - 0.2 * style.dpi, y * scale, style.dpi, rng)
            a = np.asarray(img)
            h, w = a.shape[:2]
            if style.skew:
                angle = rng.uniform(-abs(style.skew), abs(style.skew))
                m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
                a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(250, 250, 248))
            if i + 1 in style.upside_down:
                a = a[::-1, ::-1]
            a = a.astype(np.float32)
            if style.light:  # a smooth field: computed coarse, scaled up
                sh, sw = max(2, h // 16), max(2, w // 16)
                yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
                fx, fy = rng.random(), rng.random()
                field = 1 - style.light * (((xx / sw - fx) ** 2 + (yy / sh - fy) ** 2) / 2)
                field = np.asarray(Image.fromarray(field, mode="F").resize((w, h), Image.BILINEAR))
                a *= field[:, :, None]
            if style.dark_edge:
                band = int(style.dpi * rng.uniform(0.08, 0.2))
                side = rng.choice(("left", "right", "top", "bottom"))
                sl = {"left": (slice(None), slice(0, band)), "right": (slice(None), slice(w - band, w)),
                      "top": (slice(0, band), slice(None)), "bottom": (slice(h - band, h), slice(None))}[side]
                a[sl] = a[sl] * 0.15 + 10
            if style.noise:
                a += (nrng.standard_normal(a.shape[:2], dtype=np.float32) * style.noise)[:, :, None]
            if style.blur:
                a = cv2.GaussianBlur(a, (0, 0), style.blur * style.dpi / 200)
            img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
            if style.grayscale:
                img = img.convert("L")
            pages.append(img)
    finally:
        doc.close()
    return pages


def jpeg_bytes(img, style: ScanStyle) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=style.jpeg_quality, dpi=(style.dpi, style.dpi))
    return buf.getvalue()


@functools.lru_cache(maxsize=16)
def scan_pdf(pdf: bytes, style: ScanStyle | None = None, seed: int = 0) -> bytes:
    """An image-only PDF: each page one JPEG at the style's dpi and quality, no text layer (the same
    arguments give the same bytes, cached: the demo batch is built many times in one test run)."""
    from reportlab.lib.utils import ImageReader  # deferred: loaded only when a sample of this kind is drawn
    from reportlab.pdfgen import canvas

    style = style or ScanStyle()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=True)
    for img in scan_images(pdf, style, seed):
        w_pt, h_pt = img.width * 72 / style.dpi, img.height * 72 / style.dpi
        c.setPageSize((w_pt, h_pt))
        c.drawImage(ImageReader(io.BytesIO(jpeg_bytes(img, style))), 0, 0, width=w_pt, height=h_pt)
        c.showPage()
    c.save()
    return buf.getvalue()


def scan_values_style(style) -> Any:
    """A render style a scan can show: boxed ticks (a bare √ or [x] is left to the recogniser)."""
    if style.tick not in SCAN_TICKS:
        return replace(style, tick="☑")
    return style


def mixed_pdf(born_digital: bytes, scanned: bytes, scanned_pages: tuple[int, ...]) -> bytes:
    """``born_digital`` with the pages in ``scanned_pages`` (1-based) taken from ``scanned`` instead:
    an electronic form whose signature page was printed, stamped and scanned."""
    import pypdfium2 as pdfium  # deferred: loaded only when a sample of this kind is drawn

    src, scan = pdfium.PdfDocument(born_digital), pdfium.PdfDocument(scanned)
    out = pdfium.PdfDocument.new()
    try:
        for i in range(len(src)):
            out.import_pages(scan if i + 1 in scanned_pages else src, [i])
        buf = io.BytesIO()
        out.save(buf)
        return buf.getvalue()
    finally:
        out.close()
        scan.close()
        src.close()


def checkbox_states(form, truth: dict) -> tuple[int, int]:
    """(right, total) over every option of every checkbox field of ``truth``: ticked or not, as on paper
    (the measure of bench/ocr.py and tests/test_ocr.py)."""
    right = total = 0
    for k, v in truth.items():
        spec = BY_KEY[k]
        if spec.type not in ("enum", "set") or k == "direction":
            continue
        want = set(v if isinstance(v, list) else [v])
        got = form.value(k)
        got = set(got if isinstance(got, list) else [got] if got else [])
        for opt in spec.options:
            total += 1
            right += (opt in want) == (opt in got)
    return right, total
