"""OCR: scanned PDF pages and photographed / scanned images into the same blocks as a text layer.

A page image goes through, in order (each step on its own, like OCRmyPDF does it page by page):

1. dark scanner edges whitened; colour told from grayscale (a seal is found by its red in colour, by its
   shape in grayscale);
2. orientation (0/90/180/270: text boxes taller than wide mean sideways, then RapidOCR's 0/180
   classifier votes over the widest boxes) and deskew (median angle of the long text boxes);
3. ruling lines from the pixels (morphological opening) -> pdfplumber's table finder, the same one the
   text-layer path uses, so cells, spans and merged rows come out the same;
4. checkboxes from the pixels: small square outlines, ticked when their inside holds ink (☑ ■ ☒), never
   from the recognised character (an empty box reads as 口);
5. text detection (PP-OCRv4, on a reduced image) and recognition (on crops of the full image, batched),
   with one box per character;
6. characters placed into cells or free lines by :func:`extractors.pdf.page_blocks`, evidence method
   ``ocr`` with the lowest recognition confidence of the line or cell;
7. seals recorded with their bbox for STAMP_MISSING: on a colour page round red blobs (HSV red mask);
   on a grayscale page by their shape (a ring of a seal's size with ink inside, see :func:`_grey_seals`).

The engine is RapidOCR (``rapidocr-onnxruntime``: PP-OCRv4 det/rec models ship inside the wheel, nothing
is downloaded), loaded once per process (:func:`engine`): extraction runs in worker processes.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import subprocess
import threading
import time
from dataclasses import dataclass

# cv2 and numpy at the top: this module is imported only where a page is OCR'd (extractors.pages,
# lazily) or a scan's findings are made (after its pages were OCR'd), never on the born-digital path
import cv2
import numpy as np
import pypdfium2.raw as pdfium_c

from formintake.extractors.layout import ScanPage
from formintake.extractors.pdf import _Char, find_tables, page_blocks
from formintake.fields import BY_KEY
from formintake.findings import make_finding
from formintake.models import Evidence
from formintake.settings import load_settings

OCR_DPI = 200  # render resolution of a scanned PDF page (bench/ocr: accuracy vs time at 150/200/300)
DET_MAX_SIDE = 1280  # text detection runs on the page reduced to this (recognition on the full image)
MIN_CONF = 0.5  # recognised boxes below this are noise
LOW_CONF = 0.9  # FILE_OCR_USED names the fields below this
BOX_LIKE = set("口□囗☐☑☒■回")  # what the recogniser makes of a checkbox

_engine = None
_engine_lock = threading.Lock()


def engine():
    """The RapidOCR engine of this process (models from the installed wheel; loaded on first use).

    Threads: one per worker process when extraction runs in a pool (the pool uses the cores), all cores
    in a single process; ``FORMINTAKE_OCR_THREADS`` overrides."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR  # deferred: loads its models; only recognition needs it

            threads = load_settings().ocr_threads or 0  # FORMINTAKE_OCR_THREADS
            if threads <= 0:
                threads = 1 if multiprocessing.parent_process() is not None else (os.cpu_count() or 1)
            _engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
        return _engine


@dataclass
class _Token:
    text: str
    conf: float
    boxes: list[tuple[float, float, float, float]]  # one per character, pixels
    confs: list[float]


# entry points ------------------------------------------------------------------------------------
def ocr_pdf_page(page, page_no: int, n_table: int, dpi: float = OCR_DPI) -> tuple[list, int, ScanPage]:
    """Render one PDF page (pypdfium2) and read it by OCR."""
    t0 = time.perf_counter()
    w_pt, h_pt = page.get_size()
    scale = min(dpi / 72, 5000 / max(w_pt, h_pt, 1))  # a poster-sized page stays below 5000 px
    rgb = np.asarray(page.render(scale=scale).to_pil().convert("RGB"))
    t_render = time.perf_counter() - t0
    blocks, n_table, scan = read_image(rgb, scale * 72, page_no, n_table, colour=_colour_images(page))
    scan.timings["render"] = round(t_render, 3)
    return blocks, n_table, scan


def _colour_images(page) -> bool:
    """Whether the page's images were scanned in colour (their colour space), not grayscale / b&w."""
    grey = (pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_CALGRAY)
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4):
        try:
            meta = obj.get_metadata()
        except Exception:  # noqa: BLE001 - an image pdfium cannot describe: judge by its pixels
            continue
        if meta.colorspace not in grey and meta.bits_per_pixel > 8:
            return True
    return False


def read_image(rgb: np.ndarray, dpi: float, page_no: int, n_table: int,
               colour: bool | None = None) -> tuple[list, int, ScanPage]:
    """OCR one page image (RGB, uint8) scanned at ``dpi`` into layout blocks (coordinates in points).

    ``colour``: the scan was made in colour (from the file: a PDF image's colour space, an image's
    mode); a colour page is also told from its pixels when red shows."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    rgb = _whiten_edges(np.ascontiguousarray(rgb[:, :, :3]))
    colour = bool(colour) or _is_colour(rgb)
    red = _red_mask(rgb, loose=True) if colour else None
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if red is not None and red.any():  # a seal over the text: its red (and JPEG's halo) is no ink
        gray = np.where(cv2.dilate(red.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0,
                        np.maximum(gray, rgb[:, :, 0]), gray)
    eng = engine()
    prep = time.perf_counter() - t

    # text boxes on a reduced image; they also tell orientation and skew
    t = time.perf_counter()
    rotated = 0
    quads, f = _detect(eng, gray, DET_MAX_SIDE)
    if quads is not None and len(quads) >= 3:
        ws = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
        hs = np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
        if np.median(ws / np.maximum(hs, 1)) < 1.0:  # lines run top to bottom: the page lies sideways
            gray, rgb = np.rot90(gray, -1).copy(), np.rot90(rgb, -1).copy()
            rotated = 90
            quads, f = _detect(eng, gray, DET_MAX_SIDE)
    if quads is not None and len(quads) >= 1 and _upside_down(eng, gray, quads / f):
        gray, rgb = gray[::-1, ::-1].copy(), rgb[::-1, ::-1].copy()
        rotated = (rotated + 180) % 360
        quads, f = _detect(eng, gray, DET_MAX_SIDE)
    timings["detect"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    skew = _skew(quads)
    if quads is not None:
        quads = quads / f
    if abs(skew) > 0.1:
        m = _rotation(gray, skew)
        gray = _rotate(gray, m, 255)
        rgb = _rotate(rgb, m, (255, 255, 255))
        if quads is not None:  # the boxes turn with the page
            pts = np.concatenate([quads, np.ones((*quads.shape[:2], 1), np.float32)], axis=2)
            quads = (pts @ m.T.astype(np.float32)).astype(np.float32)
    timings["prepare"] = round(prep + time.perf_counter() - t, 3)

    # ruling lines -> tables; checkboxes
    t = time.perf_counter()
    px2pt = 72.0 / dpi
    ink = _binarize(gray)
    edges, lines_mask = _ruling_edges(ink, dpi, px2pt)
    h_px, w_px = gray.shape
    tables = find_tables(edges, (0, 0, w_px * px2pt, h_px * px2pt))
    boxes = _checkboxes(ink & ~lines_mask, dpi)
    seals = _seals(_red_mask(rgb), dpi) if colour else _grey_seals(gray, dpi)
    timings["layout"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    if load_settings().ocr_engine == "tesseract":  # the benchmark's comparison (bench/ocr.py)
        tokens = _tesseract_tokens(gray, dpi)
    else:
        tokens = _recognise(eng, gray, quads) if quads is not None and len(quads) else []
    timings["recognise"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    chars = _place_checkboxes(tokens, boxes, px2pt)
    blocks, n_table = page_blocks(chars, set(), tables, page_no, n_table, ocr=True) if chars else ([], n_table)
    timings["layout"] = round(timings["layout"] + time.perf_counter() - t, 3)
    scan = ScanPage(page=page_no, colour=colour, seals=[_pt(b, px2pt) for b in seals], rotated=rotated,
                    skew=round(skew, 2), dpi=round(dpi, 1), timings=timings)
    return blocks, n_table, scan


# image preparation -------------------------------------------------------------------------------
def _whiten_edges(rgb: np.ndarray) -> np.ndarray:
    """A scanner's dark border (lid shadow, paper edge) becomes white, up to 8% of each side."""
    g = rgb.mean(axis=2)
    h, w = g.shape
    out = rgb
    for axis, size in ((0, h), (1, w)):
        limit = max(1, int(size * 0.08))
        means = g.mean(axis=1 - axis)
        for side in (0, 1):
            idx = range(limit) if side == 0 else range(size - 1, size - 1 - limit, -1)
            last = None
            for i in idx:
                if means[i] < 110:
                    last = i
                elif last is not None or i > (limit // 2 if side == 0 else size - limit // 2):
                    break
            if last is None:
                continue
            if out is rgb:
                out = rgb.copy()
            if side == 0:
                sl = slice(0, last + 3)
            else:
                sl = slice(max(0, last - 2), size)
            if axis == 0:
                out[sl, :, :] = 255
            else:
                out[:, sl, :] = 255
    return out


def _is_colour(rgb: np.ndarray) -> bool:
    small = rgb[::4, ::4].astype(np.int16)
    spread = small.max(axis=2) - small.min(axis=2)
    return bool((spread > 40).mean() > 0.0005)


def _detect(eng, gray: np.ndarray, max_side: int):
    """Text boxes (quads, float32) of ``gray`` reduced to ``max_side``, and the reduction factor."""
    h, w = gray.shape
    f = min(1.0, max_side / max(h, w))
    small = cv2.resize(gray, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else gray
    quads, _ = eng.text_det(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR))
    if quads is None or len(quads) == 0:
        return None, f
    return np.asarray(quads, dtype=np.float32), f


def _upside_down(eng, gray: np.ndarray, quads: np.ndarray) -> bool:
    """RapidOCR's 0/180 classifier over the (up to 15) widest text boxes, weighted by its confidence."""
    ws = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    crops = []
    for i in np.argsort(-ws)[:15]:
        x0, y0 = np.maximum(quads[i].min(axis=0).astype(int), 0)
        x1, y1 = quads[i].max(axis=0).astype(int)
        if x1 - x0 > 8 and y1 - y0 > 4:
            crops.append(cv2.cvtColor(gray[y0:y1 + 1, x0:x1 + 1], cv2.COLOR_GRAY2BGR))
    if not crops:
        return False
    _, cls_res, _ = eng.text_cls(crops)
    vote = sum(score if label == "180" else -score for label, score in cls_res)
    return vote > 0


def _skew(quads) -> float:
    """Median angle (degrees, clockwise positive) of text boxes at least four times wider than high."""
    if quads is None or len(quads) == 0:
        return 0.0
    d = quads[:, 1] - quads[:, 0]
    hs = np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
    ws = np.linalg.norm(d, axis=1)
    keep = ws > 4 * np.maximum(hs, 1)
    if keep.sum() < 2:
        return 0.0
    ang = np.degrees(np.arctan2(d[keep, 1], d[keep, 0]))
    ang = ang[np.abs(ang) < 10]
    return float(np.median(ang)) if len(ang) else 0.0


def _rotation(img: np.ndarray, angle: float) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)


def _rotate(img: np.ndarray, m: np.ndarray, border):
    h, w = img.shape[:2]
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def _binarize(gray: np.ndarray) -> np.ndarray:
    """Ink mask (bool) that tolerates uneven light and speckle noise."""
    g = cv2.medianBlur(gray, 3)
    block = max(15, int(min(gray.shape) / 40) | 1)
    return cv2.adaptiveThreshold(g, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15) > 0


def _ruling_edges(ink: np.ndarray, dpi: float, px2pt: float) -> tuple[list[dict], np.ndarray]:
    """Table ruling lines as pdfplumber edges (points), and their pixel mask."""
    src = ink.astype(np.uint8) * 255
    max_thick = max(6, int(dpi / 20))
    h_mask = cv2.morphologyEx(src, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (int(dpi * 0.6), 1)))
    v_mask = cv2.morphologyEx(src, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, int(dpi * 0.16))))
    edges: list[dict] = []
    for mask, orient in ((h_mask, "h"), (v_mask, "v")):
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for x, y, w, h, _area in stats[1:]:
            if orient == "h" and h <= max_thick:
                t = (y + h / 2) * px2pt
                edges.append({"x0": x * px2pt, "x1": (x + w) * px2pt, "top": t, "bottom": t, "width": w * px2pt,
                              "height": 0.0, "orientation": "h", "object_type": "line"})
            elif orient == "v" and w <= max_thick:
                xc = (x + w / 2) * px2pt
                edges.append({"x0": xc, "x1": xc, "top": y * px2pt, "bottom": (y + h) * px2pt, "width": 0.0,
                              "height": h * px2pt, "orientation": "v", "object_type": "line"})
    lines = cv2.dilate(h_mask | v_mask, np.ones((3, 3), np.uint8)) > 0
    return edges, lines


@dataclass
class _Box:
    x0: int
    y0: int
    x1: int
    y1: int
    ticked: bool


def _checkboxes(ink: np.ndarray, dpi: float) -> list[_Box]:
    """Small square outlines (5–16 pt): ticked when their inside holds ink (☑ ☒ ■), empty otherwise."""
    lo, hi = dpi * 5 / 72, dpi * 16 / 72
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    out: list[_Box] = []
    for x, y, w, h, _area in stats[1:]:
        if not (lo <= w <= hi and lo <= h <= hi and 0.75 <= w / h <= 1.33):
            continue
        crop = ink[y:y + h, x:x + w]
        b = max(1, round(min(w, h) * 0.12))
        k = max(2, round(min(w, h) * 0.2))  # each side: its best-covered line within the outer 20%
        rows, cols = crop.mean(axis=1), crop.mean(axis=0)
        sides = (rows[:k].max(), rows[-k:].max(), cols[:k].max(), cols[-k:].max())
        if min(sides) < 0.75:
            continue
        inner = crop[2 * b:h - 2 * b, 2 * b:w - 2 * b]
        fill = float(inner.mean()) if inner.size else 0.0
        out.append(_Box(int(x), int(y), int(x + w), int(y + h), fill > 0.10))
    return out


def _red_mask(rgb: np.ndarray, loose: bool = False) -> np.ndarray:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hch, s, v = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    return ((hch <= 10) | (hch >= 160)) & (s > (35 if loose else 60)) & (v > 60)


def _seals(red: np.ndarray, dpi: float) -> list[tuple[int, int, int, int]]:
    """Round red seals (0.6–2.6 in across), also when two overlap: circles found in the red mask
    (Hough) whose ring is mostly red. Pixel bboxes."""
    if red.mean() < 0.001:
        return []
    f = min(1.0, 100 / dpi)  # work at 100 dpi at most
    small = cv2.resize(red.astype(np.uint8) * 255, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    d = dpi * f
    small = cv2.GaussianBlur(small, (5, 5), 1.5)
    circles = cv2.HoughCircles(small, cv2.HOUGH_GRADIENT, dp=1.5, minDist=0.5 * d, param1=80, param2=20,
                               minRadius=int(0.45 * d), maxRadius=int(1.3 * d))
    out: list[tuple[int, int, int, int]] = []
    if circles is None:
        return out
    mask = small > 40
    h, w = mask.shape
    for cx, cy, r in circles[0]:
        angles = np.linspace(0, 2 * np.pi, 90, endpoint=False)
        hit = 0
        for a in angles:  # the ring: red within a few pixels of the circle at most angles
            x, y = cx + r * np.cos(a), cy + r * np.sin(a)
            x0, x1 = int(max(0, x - 2)), int(min(w, x + 3))
            y0, y1 = int(max(0, y - 2)), int(min(h, y + 3))
            hit += bool(x1 > x0 and y1 > y0 and mask[y0:y1, x0:x1].any())
        if hit / len(angles) < 0.6:
            continue
        box = (int((cx - r) / f), int((cy - r) / f), int((cx + r) / f), int((cy + r) / f))
        if all(math.hypot(box[0] - o[0], box[1] - o[1]) > 0.5 * dpi for o in out):
            out.append(box)
    return out


SEAL_RING_COVER = 0.8  # a grayscale seal: share of its ring's circumference on ink (clean forms: ≤ 0.70)


def _grey_seals(gray: np.ndarray, dpi: float) -> list[tuple[int, int, int, int]]:
    """Round seals on a grayscale page, by shape: circles 1.2–2 in across (a 公章 is 38–42 mm) found
    by Hough on the ink, kept when ink runs along at least 80% of the ring and the disc holds ink (text,
    a star). On the simulated forms every seal's ring is ≥ 97% on ink and no circle on a clean page
    reaches 71%. Pixel bboxes."""
    f = min(1.0, 100 / dpi)  # work at 100 dpi at most
    d = dpi * f
    small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    ink = _binarize(small)
    src = cv2.GaussianBlur(ink.astype(np.uint8) * 255, (5, 5), 1.5)
    circles = cv2.HoughCircles(src, cv2.HOUGH_GRADIENT, dp=1.5, minDist=0.5 * d, param1=80, param2=25,
                               minRadius=int(0.6 * d), maxRadius=int(1.0 * d))
    out: list[tuple[int, int, int, int]] = []
    if circles is None:
        return out
    near = cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # within ±0.5 mm of ink
    h, w = ink.shape
    angles = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    cos, sin = np.cos(angles), np.sin(angles)
    for cx, cy, r in circles[0]:
        xs = np.clip((cx + r * cos).astype(int), 0, w - 1)
        ys = np.clip((cy + r * sin).astype(int), 0, h - 1)
        if near[ys, xs].mean() < SEAL_RING_COVER:
            continue
        x0, x1 = int(max(0, cx - r)), int(min(w, cx + r + 1))
        y0, y1 = int(max(0, cy - r)), int(min(h, cy + r + 1))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disc = np.hypot(xx - cx, yy - cy) < 0.75 * r
        if not disc.any() or ink[y0:y1, x0:x1][disc].mean() < 0.02:
            continue  # an empty ring is no seal
        box = (int((cx - r) / f), int((cy - r) / f), int((cx + r) / f), int((cy + r) / f))
        if all(math.hypot(box[0] - o[0], box[1] - o[1]) > 0.5 * dpi for o in out):
            out.append(box)
    return out


# recognition -------------------------------------------------------------------------------------
def _recognise(eng, gray: np.ndarray, quads: np.ndarray) -> list[_Token]:
    """Recognise every detected box on the full-resolution page, batched; one box per character."""
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    quads = eng.sorted_boxes(quads.astype(np.float32))
    crops = eng.get_crop_img_list(bgr, quads)
    rec, _ = eng.text_rec(crops, True)
    try:
        detailed = eng.cal_rec_boxes(crops, quads, rec)
    except Exception:  # per-character boxes are a refinement: fall back to even spacing
        detailed = [[r[0], r[1], [], [], []] for r in rec]
    tokens: list[_Token] = []
    for quad, (text, conf, wboxes, words, wconfs) in zip(quads, detailed):
        text = (text or "").strip()
        if not text or conf < MIN_CONF:
            continue
        boxes: list[tuple[float, float, float, float]] = []
        confs: list[float] = []
        qx0, qy0 = quad.min(axis=0)
        qx1, qy1 = quad.max(axis=0)
        if words and len(words) == len(wboxes) and "".join(words).replace(" ", "") == text.replace(" ", ""):
            for word, wb, wc in zip(words, wboxes, wconfs or [conf] * len(words)):
                wb = np.asarray(wb, dtype=np.float32)
                x0, x1 = float(wb[:, 0].min()), float(wb[:, 0].max())
                step = (x1 - x0) / max(1, len(word))
                for k, ch in enumerate(word):
                    if ch.isspace():
                        continue
                    boxes.append((x0 + k * step, float(qy0), x0 + (k + 1) * step, float(qy1)))
                    confs.append(float(wc))
            text = "".join(ch for w in words for ch in w if not ch.isspace())
        else:
            text = "".join(ch for ch in text if not ch.isspace())
            step = (qx1 - qx0) / max(1, len(text))
            boxes = [(float(qx0 + k * step), float(qy0), float(qx0 + (k + 1) * step), float(qy1))
                     for k in range(len(text))]
            confs = [float(conf)] * len(text)
        if len(boxes) == len(text):
            tokens.append(_Token(text, float(conf), boxes, confs))
    return tokens


def _tesseract_tokens(gray: np.ndarray, dpi: float) -> list[_Token]:
    """Tesseract (Debian's ``tesseract-ocr-chi-sim``) on the prepared page, words as tokens. Used by the
    benchmark to compare engines on the same pages; not a runtime dependency."""
    ok, png = cv2.imencode(".png", gray)
    proc = subprocess.run(["tesseract", "stdin", "stdout", "-l", "chi_sim", "--dpi", str(int(dpi)), "tsv"],
                          input=png.tobytes(), capture_output=True, timeout=300, check=True)
    tokens: list[_Token] = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = "".join(cols[11].split())
        conf = float(cols[10]) / 100
        if not text or conf < MIN_CONF:
            continue
        x, y, w, h = (int(c) for c in cols[6:10])
        step = w / len(text)
        tokens.append(_Token(text, conf, [(x + k * step, y, x + (k + 1) * step, y + h) for k in range(len(text))],
                             [conf] * len(text)))
    return tokens


def _place_checkboxes(tokens: list[_Token], boxes: list[_Box], px2pt: float) -> list[_Char]:
    """Characters in points; a checkbox becomes ☑/☐ and replaces whatever was read on it (口, nothing)."""
    chars: list[tuple[str, tuple[float, float, float, float], float]] = []
    for tok in tokens:
        for k, (ch, b, c) in enumerate(zip(tok.text, tok.boxes, tok.confs)):
            if ch == "²" and k and tok.text[k - 1] == "㎡":  # the recogniser's ㎡² is ㎡
                continue
            chars.append((ch, b, c))
    used: set[int] = set()
    real_boxes: list[tuple[_Box, list[int]]] = []
    for bx in boxes:
        bw = bx.x1 - bx.x0
        inside = [i for i, (ch, b, _) in enumerate(chars)  # read on the box: centred on its middle
                  if b[1] <= (bx.y0 + bx.y1) / 2 <= b[3] and bx.x0 + 0.15 * bw <= (b[0] + b[2]) / 2 <= bx.x1 - 0.15 * bw]
        if any(chars[i][0] not in BOX_LIKE and chars[i][2] >= 0.5 for i in inside):
            continue  # a character the recogniser read there (国, 0 and 口 in 窗口 are squares too)
        real_boxes.append((bx, inside))
    # checkboxes come in groups: a box needs another on its line or the line above / below
    kept = []
    for bx, inside in real_boxes:
        h = bx.y1 - bx.y0
        if any(o is not bx and abs(o.y0 - bx.y0) < 1.6 * h and abs(o.x0 - bx.x0) < 40 * h for o, _ in real_boxes):
            kept.append(bx)
            used.update(inside)
    real_boxes = kept
    out: list[_Char] = []
    items: list[tuple[str, tuple[float, float, float, float], float]] = [
        c for i, c in enumerate(chars) if i not in used]
    for bx in real_boxes:
        items.append(("☑" if bx.ticked else "☐", (bx.x0, bx.y0, bx.x1, bx.y1), 1.0))
    for ch, (x0, y0, x1, y1), c in items:
        out.append(_Char(ch, x0 * px2pt, y0 * px2pt, x1 * px2pt, y1 * px2pt, len(out), round(c, 4)))
    return out


def _pt(b, px2pt: float) -> tuple[float, float, float, float]:
    return (round(b[0] * px2pt, 1), round(b[1] * px2pt, 1), round(b[2] * px2pt, 1), round(b[3] * px2pt, 1))


# findings on the assembled form --------------------------------------------------------------------
# the notice's 盖章 blocks: (what, fields whose evidence marks the place, in order of preference)
STAMP_BLOCKS = (
    ("封面“申报单位”", ("applicant_name_cover",)),
    ("“申报单位承诺”", ("applicant_name_commitment", "commitment_date", "commitment_signatory")),
    ("“推荐单位意见”", ("recommender_date", "recommender_opinion")),
)
SEAL_REACH_PT = 110.0  # a seal whose centre is this close to the block's line counts as its seal


def scan_findings(form, layout) -> list:
    """FILE_OCR_USED (pages, low-confidence fields) and STAMP_MISSING for an OCR'd file."""
    out = []
    pages = [s.page for s in layout.scans]
    ocr_fields = {k: fv for k, fv in form.fields.items() if fv.evidence is not None and fv.evidence.method == "ocr"}
    if not ocr_fields and not any(b for b in layout.blocks if getattr(b, "evidence", None) is not None
                                  and b.evidence.method == "ocr"):
        return out
    low = sorted(((k, fv.evidence.confidence) for k, fv in ocr_fields.items()
                  if fv.raw and fv.evidence.confidence is not None and fv.evidence.confidence < LOW_CONF),
                 key=lambda x: x[1])
    msg = f"第{'、'.join(map(str, pages))}页为扫描图像，内容来自OCR识别，请与原件核对"
    if low:
        msg += "；识别置信度较低的栏目：" + "、".join(f"{BY_KEY[k].zh}（{c:.2f}）" for k, c in low)
    if not any(s.colour for s in layout.scans):  # a colour scan shows red only where there is red
        msg += "；扫描件为灰度/黑白图像，公章按圆形印章轮廓识别，无法核对颜色"
    turned = [f"第{s.page}页旋转{s.rotated}°" for s in layout.scans if s.rotated]
    if turned:
        msg += "；" + "、".join(turned) + "后识别"
    out.append(make_finding(
        "FILE_OCR_USED", message=msg, value={"low_confidence": [k for k, _ in low], "pages": pages},  # keys sorted, as records store them
        evidence=Evidence(method="file"),
        message_en=f"OCR used on pages {pages}; low confidence: {[k for k, _ in low]}"))

    scans = {s.page: s for s in layout.scans}
    anchors = []  # (what, evidence) of each 盖章 block on a scanned page
    for what, keys in STAMP_BLOCKS:
        ev = next((form.fields[k].evidence for k in keys if k in form.fields and form.fields[k].evidence is not None
                   and form.fields[k].evidence.page is not None), None)
        if ev is None or ev.method != "ocr" or ev.page not in scans or ev.bbox is None:
            continue  # not on a scanned page: born-digital pages are not asked for seals
        anchors.append((what, ev))
    sealed: set[str] = set()
    for page in {ev.page for _, ev in anchors}:
        here = [(what, ev) for what, ev in anchors if ev.page == page]
        for seal in scans[page].seals:  # a seal belongs to the nearest block within reach
            dist, what = min((_distance(seal, ev.bbox), what) for what, ev in here)
            if dist <= SEAL_REACH_PT:
                sealed.add(what)
    for what, ev in anchors:
        if what in sealed:
            continue
        seen = "红色公章" if scans[ev.page].colour else "公章（灰度图像，按圆形印章轮廓判断）"
        out.append(make_finding(
            "STAMP_MISSING", message=f"扫描件第{ev.page}页{what}盖章处未见{seen}，请核对原件是否已盖章",
            value=what, expected="盖章处有红色公章", evidence=ev.model_copy(update={"confidence": None}),
            message_en=f"no seal near the {what} block on page {ev.page}"))
    return out


def _distance(seal, bbox) -> float:
    cx, cy = (seal[0] + seal[2]) / 2, (seal[1] + seal[3]) / 2
    dx = max(bbox[0] - cx, 0, cx - bbox[2])
    dy = max(bbox[1] - cy, 0, cy - bbox[3])
    return (dx * dx + dy * dy) ** 0.5
