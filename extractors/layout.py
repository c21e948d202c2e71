"""The intermediate layout model every backend produces and :mod:`extractors.assemble` reads.

A :class:`Layout` is the document as a flat sequence of blocks in reading order: paragraphs (one line
of text with its evidence) and table rows (cells with their text, evidence and grid column). Merged
cells appear once: a horizontally merged cell (gridSpan) is one cell at its first grid column, a
vertically merged cell appears in its first row only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from formintake.models import Evidence, Finding


@dataclass
class Para:
    text: str
    evidence: Evidence
    # PDF only: one box (x0, top, x1, bottom) per character of text, to give a value its own bbox
    boxes: list[tuple[float, float, float, float]] | None = None


@dataclass
class Cell:
    text: str  # lines joined with "\n"
    col: int  # 0-based grid column
    evidence: Evidence
    span: int = 1


@dataclass
class Row:
    cells: list[Cell]
    table: int  # 0-based table index in the document
    row: int  # 0-based row index in that table
    page: int | None = None


Block = Para | Row


@dataclass
class ScanPage:
    """What OCR saw on one scanned / image page (for FILE_OCR_USED and STAMP_MISSING)."""

    page: int  # 1-based
    colour: bool  # a colour image: red seals can be told from black ink
    seals: list[tuple[float, float, float, float]] = field(default_factory=list)  # bbox in points
    rotated: int = 0  # degrees the page was turned to read it (0 / 90 / 180 / 270)
    skew: float = 0.0  # degrees of deskew applied
    dpi: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds: render, prepare, detect, recognise, layout
    seconds: float = 0.0  # the whole page task (open, render, OCR)
    worker: int | None = None  # pid of the process that read it (one page per task in the extraction pool)


@dataclass
class Layout:
    file_type: str  # "docx" | "pdf" | "image"
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None
    findings: list[Finding] = field(default_factory=list)  # intake findings raised by the backend
    scans: list[ScanPage] = field(default_factory=list)  # pages read by OCR
    # pages that still need OCR (extractors.pages: one task a page), and pages without any text so far
    ocr_tasks: list = field(default_factory=list)
    no_text: list[int] = field(default_factory=list)
    ocr_data: bytes | None = None  # the file the deferred tasks read their pages from
    failed_pages: list = field(default_factory=list)  # OCR pages that timed out / crashed (pages.PageFailed)

    def text(self) -> str:
        """All text, one block a line (for debugging and FORM_UNRECOGNIZED heuristics)."""
        out: list[str] = []
        for b in self.blocks:
            out.append(b.text if isinstance(b, Para) else " | ".join(c.text for c in b.cells))
        return "\n".join(out)
