"""The extractors' tunables in one place, each with what it governs (like pdfplumber's table settings).

These are properties of how the forms are laid out and written (by Word, WPS, LibreOffice, a PDF
printer, a scanner), tuned on the sample, defect and hostile batches; the campaign's own numbers (size
and time limits, thresholds) live in the campaign file instead. Changing one changes what is read: run
``python -m bench.compare_outputs`` on the demo and defect batches before and after (docs/decisions.md).

The OCR engine's own tunables (render dpi, detection size, confidence levels, seal reach) stay beside it
in ``extractors/ocr.py``; libxml2's nesting limit (``docx.MAX_DEPTH``) is the parser's, not ours.

    from formintake.extractors.tuning import TUNING
    if len(label) > TUNING.label_max_chars: ...
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExtractorSettings:
    # ---- recognising the form and its labels (assemble.py) ----------------------------------------
    # a file without the form's title counts as the form only with at least this many known labels
    min_labels_without_title: int = 8
    # a cell or line longer than this (folded) is never looked up as a field label
    label_max_chars: int = 40
    # texts up to this long have their label look-up (and their fold) remembered per process: the labels
    # recur in every form; longer texts (values, prose) are looked up each time. Speed only, never what
    # is read.
    label_cache_max_chars: int = 200
    # how many wrappings are peeled off a label to find its field: a bracketed note or unit
    # (员工总数（人）), a year in front (2022年度营业收入), a unit at the end (注册资本万元)
    label_unwrap_depth: int = 3
    # a numbered line (一、…) longer than this is text, not a section heading; also the longest line
    # that can name a sub-part of 项目基本情况 (平台 / 体验中心)
    heading_max_chars: int = 30
    # past section 二, a numbered heading up to this number starts a section even when it skips numbers
    heading_max_number: int = 10
    # "申报单位承诺…" longer than this is a sentence of the commitment, not its heading
    commitment_heading_max_chars: int = 12
    # in 申报单位承诺 / 推荐单位意见, a line this short that reads as a date (or a date placeholder) is
    # the block's date
    date_line_max_chars: int = 20

    # ---- the PDF text layer (pdf.py) ----------------------------------------------------------------
    # fewer characters than this on a page that carries an image: no usable text layer, OCR the page
    min_text_chars: int = 5
    # the table finder's budget on one page: past this many ruling segments or characters (a page of
    # 40,000 boxes) the page is read as plain text lines with FILE_TABLES_SKIPPED, instead of burning
    # the document's time limit
    table_edge_budget: int = 4000
    table_char_budget: int = 20000
    # a path with more segments than this is a drawing (a logo, a seal), not ruling lines
    path_max_segments: int = 2000
    # a segment shorter than this (points) is not a ruling line
    ruling_min_length: float = 3.0
    # a segment whose ends differ by less than this (points) across its direction is horizontal/vertical
    ruling_max_lean: float = 1.0
    # a character joins the current line when its centre lies in the line's band, the band extended
    # upwards by this fraction of its height...
    line_band_slack: float = 0.1
    # ...and within this fraction of the band's height of the previous character's centre
    line_centre_step: float = 0.5
    # a gap wider than this fraction of the character's height between two characters is a space
    space_gap: float = 0.6

    # ---- images (image.py) --------------------------------------------------------------------------
    # pages read from a multi-page TIFF
    image_max_pages: int = 50
    # pixels of one page: a larger "scan" is refused (FILE_TOO_LARGE) before it is decoded
    image_max_pixels: int = 60_000_000


TUNING = ExtractorSettings()
