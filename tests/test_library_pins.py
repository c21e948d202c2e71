"""Where our code leans on another library's shape rather than its documented API, a test pins it
(issue 11): a library upgrade that changes that shape fails here, by name, not somewhere downstream."""

from __future__ import annotations

import dataclasses

import pdfplumber

from formintake.extractors import pdf
from formintake.extractors.tuning import TUNING, ExtractorSettings


def _edge(x0, top, x1, bottom):
    h = top == bottom
    return {"x0": x0, "x1": x1, "top": top, "bottom": bottom, "width": x1 - x0, "height": bottom - top,
            "orientation": "h" if h else "v", "object_type": "line"}


def test_table_finder_reads_only_edges_and_bbox():
    """extractors/pdf.py hands pdfplumber's TableFinder a stand-in page (``_EdgePage``: ``edges`` and
    ``bbox`` only, under the line strategy) built from pdfium's path objects. If pdfplumber starts to read
    anything else from the page, this fails with the attribute it wanted."""
    assert pdfplumber.__version__ == "0.11.10"  # the version this was checked against (pyproject pin)
    grid = [_edge(10, y, 210, y) for y in (10, 40, 70)] + [_edge(x, 10, x, 70) for x in (10, 110, 210)]
    tables = pdf.find_tables(grid, (0, 0, 300, 100))
    assert len(tables) == 1
    assert sorted(tables[0].cells) == [(10, 10, 110, 40), (10, 40, 110, 70), (110, 10, 210, 40), (110, 40, 210, 70)]
    assert vars(pdf._EdgePage(grid, (0, 0, 300, 100))).keys() == {"edges", "bbox"}
    assert pdf.find_tables([], (0, 0, 300, 100)) == []


def test_every_tunable_is_documented_and_used():
    """extractors/tuning.py: one frozen dataclass, a comment above every field, every field read."""
    from pathlib import Path

    src = Path(pdf.__file__).with_name("tuning.py").read_text("utf-8").splitlines()
    users = "".join(Path(pdf.__file__).with_name(n).read_text("utf-8") for n in ("assemble.py", "pdf.py", "image.py"))
    for f in dataclasses.fields(ExtractorSettings):
        i = next(i for i, line in enumerate(src) if line.strip().startswith(f"{f.name}:"))
        assert src[i - 1].strip().startswith("#") or src[i - 2].strip().startswith("#"), f.name
        assert f"TUNING.{f.name}" in users, f"{f.name} is not used"
    assert dataclasses.is_dataclass(TUNING) and TUNING == ExtractorSettings()
