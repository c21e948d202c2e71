"""applications.csv / .xlsx from rows rendered by an earlier run (reports.AppRows): a row is rendered
only for a record whose digest changed, and the tables are byte for byte what a build from scratch gives
(rows moved, rows that enter the fitted first rows, awkward text, a rows file under another key or
damaged)."""

from __future__ import annotations

import io

import openpyxl

from formintake import reports
from formintake.reports import tabular
from formintake.steps.publish import durable_record, record_digest
from tests.test_reports import make_input, rule_titles  # noqa: F401  (autouse fixture: titles for codes)


WIDE = "末尾单位的项目名称很长" * 2  # 40 columns wide: wider than any other project name


def _records(n: int = 0, last: int = 0):
    """make_input's records (durable) and ``n`` more: copies of them under new ids and applicant names;
    the ``last`` copies without a unit (so at the table's end) and with a WIDE project name."""
    base = [durable_record(r) for r in make_input().records]
    extra = []
    for i in range(n):
        r = base[i % len(base)]
        fields = {**r.fields, "applicant_name": f"复制单位{i:04d}"}
        more = {}
        if i >= n - last:
            fields["project_name"] = WIDE
            more = {"recommender_unit": None, "recommender_path": None}
        extra.append(r.model_copy(update={
            "application_id": f"copy-{i:04d}", "fields": fields, **more,
            "source": r.source.model_copy(update={"key": f"{r.source.key}.{i:04d}.docx"})}))
    return base + extra


def _build(records, rows_file=None, key="k1"):
    """(csv, xlsx, the next rows file's bytes, rows reused) from ``rows_file`` (bytes of an earlier one)."""
    csv_f, xlsx_f = io.BytesIO(), io.BytesIO()
    with reports.AppRows(key, io.BytesIO(rows_file) if rows_file is not None else None) as rows:
        reports.applications_tables_into(records, csv_f, xlsx_f, rows, [record_digest(r) for r in records])
        nxt = rows.finished().read()
    return csv_f.getvalue(), xlsx_f.getvalue(), nxt, rows.reused


def _scratch(records):
    return reports.write_applications_tables(records)


def test_only_changed_rows_are_rendered_and_the_bytes_equal_a_build_from_scratch():
    records = _records()
    csv0, xlsx0, rows0, reused = _build(records)
    assert (csv0, xlsx0) == _scratch(records) and reused == 0

    # one record changes status (another fill) and applicant (another place in the table)
    again = _records()
    again[1] = again[1].model_copy(update={"status": "rejected",
                                           "fields": {**again[1].fields, "applicant_name": "阿里某公司"}})
    csv1, xlsx1, rows1, reused = _build(again, rows0)
    assert reused == len(again) - 1  # every other row taken as rendered
    assert (csv1, xlsx1) == _scratch(again)
    assert (csv1, xlsx1) != (csv0, xlsx0)
    # the reused rows as read back by a spreadsheet reader: the changed one in its new place
    ws = openpyxl.load_workbook(io.BytesIO(xlsx1), read_only=True).worksheets[0]
    table = [list(r) for r in ws.iter_rows(values_only=True)]
    assert [r[0] for r in table[1:]].count(again[1].application_id) == 1

    # nothing changed: everything reused, same bytes again (and the rows file: entries copied as they stand)
    csv2, xlsx2, rows2, reused = _build(again, rows1)
    assert reused == len(again) and (csv2, xlsx2) == (csv1, xlsx1) and rows2 == rows1
    assert _build(again)[2] == rows1  # the rows file as a build from scratch writes it


def test_rows_past_the_fitted_ones_get_measured_when_they_move_up():
    """Column widths come from the first FIT_ROWS rows: a row stored unmeasured (further down) is
    rendered again when it moves up, so the widths are those of a build from scratch."""
    records = _records(tabular.FIT_ROWS + 5, last=10)
    csv0, xlsx0, rows0, _ = _build(records)
    assert (csv0, xlsx0) == _scratch(records)
    moved = list(records)
    first = len(make_input().records)
    moved[first] = moved[first].model_copy(update={"fields": {**moved[first].fields, "applicant_name": "000首位单位"}})
    del moved[first + 1:first + 41]  # 40 rows fewer: the 10 WIDE ones at the end move into the fitted rows
    csv1, xlsx1, _, reused = _build(moved, rows0)
    assert (csv1, xlsx1) == _scratch(moved)
    unmeasured = len(records) - (tabular.FIT_ROWS - 1)  # the header is the first fitted row
    assert reused == len(moved) - 1 - unmeasured  # the changed row and the ones that moved up
    ws = openpyxl.load_workbook(io.BytesIO(xlsx1)).worksheets[0]
    widths = {d.min: d.width for d in ws.column_dimensions.values()}
    assert max(widths.values()) >= len(WIDE) * 2


def test_awkward_text_survives_the_row_number_mark():
    records = _records()
    odd = "\x01控制\x02字符 _x0041_ <b>&amp;</b> =SUM(A1) "
    records[0] = records[0].model_copy(update={"fields": {**records[0].fields, "project_name": odd}})
    _, _, rows0, _ = _build(records)
    csv1, xlsx1, _, reused = _build(records, rows0)
    assert reused == len(records) and (csv1, xlsx1) == _scratch(records)
    ws = openpyxl.load_workbook(io.BytesIO(xlsx1)).worksheets[0]
    assert any("_x0041_ <b>&amp;</b>" in str(c.value) for row in ws.iter_rows() for c in row)


def test_rows_under_another_key_or_damaged_are_not_used():
    records = _records()
    _, _, rows0, _ = _build(records)
    head = rows0.index(b"\n") + 1
    entry = head + 68 + int.from_bytes(rows0[head + 64:head + 68], "big")  # the end of the first entry
    for rows_file, key in ((rows0, "k2"), (rows0[:len(rows0) // 2], "k1"), (rows0[:entry + 30], "k1"),
                           (rows0[:-1], "k1"), (rows0 + b"x", "k1"), (b"not rows", "k1"), (b"", "k1")):
        csv1, xlsx1, rows1, reused = _build(records, rows_file, key)
        assert reused == 0 and (csv1, xlsx1) == _scratch(records)  # cut short, longer, another key: none used
    # an entry whose bytes are damaged: that row is rendered again, the others are taken
    bad = rows0[:head + 68] + b"\0" * (entry - head - 68) + rows0[entry:]
    csv1, xlsx1, _, reused = _build(records, bad)
    assert reused == len(records) - 1 and (csv1, xlsx1) == _scratch(records)
