"""records/ written incrementally (steps.publish.write_records): a record whose content did not change
is not serialised again, its applications.jsonl line is reused, and every file is still byte-for-byte
what a full rewrite gives."""

from __future__ import annotations

import hashlib

from formintake import reports
from formintake.keys import ResultKeys
from formintake.models import Finding
from formintake.steps.publish import durable_record, record_digest, write_records
from formintake.storage.local import LocalStore
from tests.test_reports import make_input, rule_titles  # noqa: F401  (autouse fixture: titles for codes)

KEYS = ResultKeys("2023")


class CountingStore(LocalStore):
    """A real local store that remembers which keys were written."""

    def __init__(self, root):
        super().__init__(root)
        self.written: list[str] = []

    def put(self, key, data, content_type="application/octet-stream"):
        self.written.append(key)
        super().put(key, data, content_type)


def full_rewrite(records) -> dict[str, bytes]:
    """What the non-incremental path writes for these records."""
    out = {KEYS.record(r.application_id): _dumps(r) for r in records}
    csv_data, xlsx_data = reports.write_applications_tables(records)
    out[KEYS.records_file("applications.jsonl")] = reports.write_applications_jsonl(records)
    out[KEYS.records_file("applications.csv")] = csv_data
    out[KEYS.records_file("applications.xlsx")] = xlsx_data
    return out


def _dumps(r) -> bytes:
    from formintake.steps.publish import dumps

    return dumps(r.model_dump(mode="json"))


def stored(store: LocalStore, keys) -> dict[str, bytes]:
    return {k: store.get(k) for k in keys}


def test_only_the_changed_record_is_rewritten_and_every_file_equals_a_full_rewrite(tmp_path):
    store = CountingStore(tmp_path)
    durable = [durable_record(r) for r in make_input().records]
    write_records(store, KEYS, durable)
    expected = full_rewrite(durable)
    assert stored(store, expected) == expected

    # nothing changed: nothing is written, not even the index
    store.written.clear()
    write_records(store, KEYS, [durable_record(r) for r in make_input().records])
    assert store.written == []

    # one application gains a finding: its file, the three tables and the index; the jsonl line of
    # every other record is the one written before (and equal to a full rewrite)
    store.written.clear()
    again = [durable_record(r) for r in make_input().records]
    target = again[1]
    target.findings = [*target.findings, Finding(code="FIELD_MISSING", severity="error", field="uscc",
                                                 message="统一社会信用代码未填写")]
    write_records(store, KEYS, again)
    assert sorted(store.written) == sorted([
        KEYS.record(target.application_id), KEYS.records_file("applications.jsonl"),
        KEYS.records_file("applications.csv"), KEYS.records_file("applications.xlsx"), KEYS.records_index,
        KEYS.application_rows])  # the tables' rows as rendered (one of them new)
    expected = full_rewrite(again)
    assert stored(store, expected) == expected


def test_a_table_changed_behind_our_back_is_not_reused(tmp_path):
    """applications.jsonl lines are reused only from the file the index describes."""
    store = CountingStore(tmp_path)
    durable = [durable_record(r) for r in make_input().records]
    write_records(store, KEYS, durable)
    jsonl_key = KEYS.records_file("applications.jsonl")
    tampered = store.get(jsonl_key).replace(b'"campaign":"2023"', b'"campaign":"1999"')
    store.put(jsonl_key, tampered)
    again = [durable_record(r) for r in make_input().records]
    again[0].status = "needs_review" if again[0].status != "needs_review" else "accepted"
    write_records(store, KEYS, again)
    assert store.get(jsonl_key) == reports.write_applications_jsonl(again)


def test_a_deleted_record_file_is_written_again(tmp_path):
    store = CountingStore(tmp_path)
    durable = [durable_record(r) for r in make_input().records]
    write_records(store, KEYS, durable)
    gone = KEYS.record(durable[2].application_id)
    (tmp_path / gone).unlink()
    store.written.clear()
    write_records(store, KEYS, [durable_record(r) for r in make_input().records])
    assert store.written == [gone]
    assert store.get(gone) == _dumps(durable[2])


def test_record_digest_follows_every_part_of_a_record():
    ev = make_input().records[0].findings[1].evidence
    base = durable_record(make_input().records[0]).model_copy(update={"evidence": {"area_sqm": ev}})
    d0 = record_digest(base)
    same = durable_record(make_input().records[0]).model_copy(update={"evidence": {"area_sqm": ev.model_copy()}})
    assert record_digest(same) == d0  # same content, same digest
    variants = {
        "status": base.model_copy(update={"status": "accepted"}),
        "field value": base.model_copy(update={"fields": {**base.fields, "area_sqm": 281.0}}),
        "raw text": base.model_copy(update={"raw": {**base.raw, "area_sqm": "281"}}),
        "field state": base.model_copy(update={"field_states": {**base.field_states, "uscc": "missing"}}),
        "evidence": base.model_copy(update={"evidence": {"area_sqm": ev.model_copy(update={"row": 6})}}),
        "finding": base.model_copy(update={"findings": base.findings[:1]}),
        "source": base.model_copy(update={"source": base.source.model_copy(update={"sha256": "cd" * 32})}),
    }
    digests = {name: record_digest(r) for name, r in variants.items()}
    assert d0 not in digests.values() and len(set(digests.values())) == len(digests)
    # text orjson refuses (a lone surrogate) falls back to the stored form, still a digest
    odd = base.model_copy(update={"fields": {**base.fields, "project_name": "\ud800"}})
    assert len(record_digest(odd)) == len(hashlib.sha256().hexdigest()) and record_digest(odd) != d0
