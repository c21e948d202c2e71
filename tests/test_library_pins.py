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


def _random_grid(rng) -> list[dict]:
    """Ruling lines of a table with merged cells (some inner segments left out) and a second table."""
    xs = sorted(rng.sample(range(10, 400, 10), rng.randint(3, 7)))
    ys = sorted(rng.sample(range(10, 500, 10), rng.randint(3, 9)))
    edges = [_edge(xs[0], y, xs[-1], y) for y in (ys[0], ys[-1])] + [_edge(x, ys[0], x, ys[-1]) for x in (xs[0], xs[-1])]
    for y in ys[1:-1]:
        for a, b in zip(xs, xs[1:]):
            if rng.random() < 0.8:
                edges.append(_edge(a, y, b, y))
    for x in xs[1:-1]:
        for a, b in zip(ys, ys[1:]):
            if rng.random() < 0.8:
                edges.append(_edge(x, a, x, b))
    if rng.random() < 0.5:  # a small second table below
        edges += [_edge(20, y, 120, y) for y in (520, 540, 560)] + [_edge(x, 520, x, 560) for x in (20, 70, 120)]
    rng.shuffle(edges)
    return edges


def test_our_intersections_to_cells_is_pdfplumbers():
    """extractors/pdf.py computes pdfplumber's ``intersections_to_cells`` itself (faster: the same
    algorithm with each point's edges made into sets once) inside a TableFinder whose ``__init__`` it
    repeats. Both must give pdfplumber's cells and tables, merged cells included."""
    import random

    from pdfplumber.table import TableFinder, intersections_to_cells

    rng = random.Random(11)
    for _ in range(200):
        grid = _random_grid(rng)
        page = pdf._EdgePage(grid, (0, 0, 600, 800))
        theirs = TableFinder(page, pdf.TABLE_SETTINGS)
        ours = pdf._TableFinder(page, pdf.TABLE_SETTINGS)
        assert pdf.intersections_to_cells(theirs.intersections) == intersections_to_cells(theirs.intersections)
        assert ours.cells == theirs.cells
        assert [t.cells for t in ours.tables] == [t.cells for t in theirs.tables]
        assert [t.bbox for t in ours.tables] == [t.bbox for t in theirs.tables]
    assert list(vars(theirs)) == list(vars(ours))  # TableFinder.__init__ still sets what ours sets
