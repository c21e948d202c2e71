"""publish streams: each report is written into a temporary file and stored from there (never all four,
nor one whole, in memory), the records' durable copies are made one at a time, and every byte is what
the whole-document writers give. The publish order stands: records and the run's reports, then latest/
with its manifest last, then runs.json."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import orjson
import pytest

from formintake import reports
from formintake.keys import ResultKeys
from formintake.models import Finding
from formintake.reports import html as html_mod
from formintake.reports import tabular
from formintake.steps.compare import Comparison, findings_snapshot
from formintake.steps.publish import REPORT_FILES, dumps, durable_record, publish, snapshot_into, write_records
from formintake.storage.local import LocalStore
from tests.test_publish_incremental import CountingStore, full_rewrite, stored
from tests.test_reports import make_input, rule_titles  # noqa: F401  (autouse fixture: titles for codes)

KEYS = ResultKeys("2023")


def _whole_json(inp) -> bytes:
    """exceptions.json as one orjson dump of the whole document (what the streamed writer must equal)."""
    head, lists = tabular._exceptions_doc(inp)
    return orjson.dumps({**head, **{k: list(v) for k, v in lists.items()}}, option=orjson.OPT_INDENT_2, default=str)


def test_exceptions_json_streamed_equals_the_whole_dump():
    inp = make_input()
    assert reports.write_exceptions_json(inp) == _whole_json(inp)
    empty = make_input()
    empty.records, empty.superseded = [], []  # empty lists: "[]", as orjson writes them
    assert reports.write_exceptions_json(empty) == _whole_json(empty)
    assert b'"findings": []' in reports.write_exceptions_json(empty)


def test_exceptions_json_falls_back_to_the_json_module_for_a_lone_surrogate():
    inp = make_input()
    inp.records[0].findings.append(Finding(code="FIELD_MISSING", severity="error", field="x", message="坏\ud800字"))
    with pytest.raises(orjson.JSONEncodeError):
        _whole_json(inp)
    out = io.BytesIO(b"before")
    out.seek(6)
    tabular.exceptions_json_into(inp, out)  # what was written before the failure is taken back
    data = out.getvalue()
    assert data.startswith(b"before{\n")
    doc = json.loads(data[6:].decode("utf-8", "surrogatepass"))
    assert any(f["message"] == "坏\ud800字" for f in doc["findings"])


def test_exceptions_html_streamed_equals_the_page_rendered_whole():
    inp = make_input()
    context, _ = html_mod.build_context(inp)  # the data's JSON rendered in place, as one string
    whole = html_mod._env().get_template("exceptions.html.j2").render(**context).encode("utf-8")
    assert reports.write_exceptions_html(inp) == whole
    assert b"\x00" not in whole
    # the embedded data reads back, and the unresolved findings are counted once per unit
    apps = html_mod.read_report_data(whole.decode("utf-8"))
    unresolved = sum(1 for a in apps for f in a["findings"] if not f["resolved"])
    assert f'data-total="{unresolved}"'.encode() in whole


def _stable_zip_whole(data: bytes, stamp: str) -> bytes:
    """The earlier stable_zip: every member read whole and written by writestr."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = tabular._CORE_TIME.sub(lambda m: m.group(1) + stamp + m.group(2), body.decode()).encode()
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, body)
    return out.getvalue()


def test_stable_zip_streamed_member_by_member_gives_the_same_bytes():
    buf = io.BytesIO()
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>申报单位{i * 7919 % 10007}</t></is></c></row>'
                   for i in range(60000))  # ~4 MB: several chunks through the compressor
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("docProps/core.xml", "<cp><dcterms:created x=\"1\">2026-12-01T10:00:00Z</dcterms:created></cp>")
        z.writestr("xl/worksheets/sheet1.xml", rows)
    data = buf.getvalue()
    out = io.BytesIO()
    tabular.stable_zip_into(io.BytesIO(data), out, "2026-11-27T14:05:01+00:00")
    assert out.getvalue() == _stable_zip_whole(data, "2026-11-27T14:05:01Z")
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        assert z.read("xl/worksheets/sheet1.xml").decode() == rows


def test_stable_zip_of_an_xlsxwriter_workbook_copies_its_deflated_members_as_deflating_again_would():
    """stable_zip_into copies a deflated member's compressed bytes (no inflate + deflate): on XlsxWriter's
    own zip (constant memory: its members written from files) the bytes equal a full re-deflate."""
    import xlsxwriter

    raw = io.BytesIO()
    wb = xlsxwriter.Workbook(raw, {"constant_memory": True, "in_memory": False})
    ws = wb.add_worksheet("申报清单")
    for i in range(3000):
        ws.write_row(i, 0, [f"申报单位{i * 7919 % 10007}", i * 1.5, "说明 " * (i % 7)])
    wb.close()
    data = raw.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    out = io.BytesIO()
    tabular.stable_zip_into(io.BytesIO(data), out, "2026-11-27T14:05:01Z")
    assert out.getvalue() == _stable_zip_whole(data, "2026-11-27T14:05:01Z")


def test_findings_snapshot_streamed_equals_the_whole_dump():
    inp = make_input()
    records = [*inp.records, inp.records[0].model_copy(update={"application_id": "app-中文-0"})]
    for recs in (records, records[::-1], []):
        out = io.BytesIO()
        snapshot_into(recs, out)
        assert out.getvalue() == dumps(findings_snapshot(recs))
    records[1].findings.append(Finding(code="FIELD_MISSING", severity="error", field="x", message="坏\ud800字"))
    out = io.BytesIO()
    snapshot_into(records, out)  # orjson refuses it: the json module's text of the whole snapshot
    assert out.getvalue() == dumps(findings_snapshot(records))
    assert "坏\ud800字".encode("utf-8", "surrogatepass") in out.getvalue()


def test_write_records_makes_durable_copies_itself(tmp_path):
    """Given the run's records (change marks, resolved findings), write_records stores what a full
    rewrite of their durable copies gives."""
    inp = make_input()
    assert any(f.change for r in inp.records for f in r.findings) and any(r.resolved_findings for r in inp.records)
    store = LocalStore(tmp_path)
    write_records(store, KEYS, inp.records)
    expected = full_rewrite([durable_record(r) for r in make_input().records])
    assert stored(store, expected) == expected


def _publish(store):
    inp = make_input()
    comparison = Comparison(baseline_run_id=None, inputs_digest="d", new=0, resolved=0, history={"runs": []})
    keys = publish(store, KEYS, inp, comparison, {"run_id": inp.run_id})
    return inp, keys


@pytest.mark.integration
def test_publish_order_and_manifest(s3_buckets, tmp_path):
    """On SeaweedFS and a local folder: records and the run's reports first, then latest/ (each report,
    then manifest.json), then runs.json; each report is the whole-document writer's bytes, latest/ holds
    the same, and the manifest has their sha256."""
    _, results = s3_buckets

    class Recording:  # a real store, its writes remembered in order
        def __init__(self, store):
            self.store, self.written = store, []

        def put(self, key, data, content_type="application/octet-stream"):
            self.written.append(key)
            return self.store.put(key, data, content_type)

        def __getattr__(self, name):
            return getattr(self.store, name)

    for store in (Recording(results), CountingStore(tmp_path)):
        inp, report_keys = _publish(store)
        w = store.written
        run_reports = [w.index(KEYS.report(inp.run_id, n)) for n in REPORT_FILES]
        latest = [w.index(KEYS.latest(n)) for n in REPORT_FILES]
        manifest, runs = w.index(KEYS.latest("manifest.json")), w.index(KEYS.runs)
        records = [i for i, k in enumerate(w) if k.startswith("records/")]
        assert records and max(records) < min(run_reports)
        assert max(run_reports) < min(latest) and max(latest) < manifest < runs == len(w) - 1
        expected = {"exceptions.json": reports.write_exceptions_json(inp), "exceptions.csv": reports.write_exceptions_csv(inp),
                    "exceptions.xlsx": reports.write_exceptions_xlsx(inp), "exceptions.html": reports.write_exceptions_html(inp)}
        doc = json.loads(store.get(KEYS.latest("manifest.json")))
        assert doc["run_id"] == inp.run_id
        for name, data in expected.items():
            assert store.get(report_keys[name]) == data
            assert store.get(KEYS.latest(name)) == data
            assert doc["files"][name] == hashlib.sha256(data).hexdigest()


class _DiskFullOn(CountingStore):
    """A local folder whose disk is full for writes of one key (the other writes are real)."""

    def __init__(self, root, failing: str):
        super().__init__(root)
        self.failing = failing

    def put(self, key, data, content_type="application/octet-stream"):
        if key == self.failing:
            raise OSError(28, "No space left on device")
        super().put(key, data, content_type)


def test_a_write_made_behind_that_fails_stops_publish_before_what_comes_after(tmp_path):
    """Tables and reports are stored by writer threads while the next is made: a failed write is still
    raised, and what must follow it (the records index, latest/, its manifest, runs.json) is not written."""
    inp = make_input()
    comparison = Comparison(baseline_run_id=None, inputs_digest="d", new=0, resolved=0, history={"runs": []})
    for failing, not_written in ((KEYS.records_file("applications.jsonl"), KEYS.records_index),
                                 (KEYS.report(inp.run_id, "exceptions.csv"), KEYS.latest("exceptions.json")),
                                 (KEYS.latest("exceptions.html"), KEYS.latest("manifest.json"))):
        store = _DiskFullOn(tmp_path / failing.replace("/", "_"), failing)
        with pytest.raises(OSError, match="No space"):
            publish(store, KEYS, inp, comparison, {"run_id": inp.run_id})
        assert not_written not in store.written and KEYS.runs not in store.written
    # and with room again, the next publish writes everything
    store = CountingStore(tmp_path / "ok")
    publish(store, KEYS, inp, comparison, {"run_id": inp.run_id})
    assert KEYS.records_index in store.written and store.written[-1] == KEYS.runs


def _many(copies: int = 60):
    """make_input with its applications copied (under new ids): more than one block of 256 elements."""
    inp = make_input()
    inp.records = [r.model_copy(update={"application_id": f"{r.application_id}-{i}"})
                   for i in range(copies) for r in inp.records]
    return inp


def test_writers_in_blocks_equal_the_whole_documents_past_one_block():
    from formintake.reports.common import BLOCK, write_blocks

    for n in (0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 3):
        out = io.BytesIO()
        parts = [str(i).encode() for i in range(n)]
        assert write_blocks(out, parts, b"[", b",") == bool(n)
        assert out.getvalue() == (b"[" + b",".join(parts) if n else b"")
    inp = _many()
    assert len(inp.records) > BLOCK
    assert reports.write_exceptions_json(inp) == _whole_json(inp)
    context, _ = html_mod.build_context(inp)
    assert reports.write_exceptions_html(inp) == html_mod._env().get_template("exceptions.html.j2").render(
        **context).encode("utf-8")
    out = io.BytesIO()
    snapshot_into(inp.records, out)
    assert out.getvalue() == dumps(findings_snapshot(inp.records))
