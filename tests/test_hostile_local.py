"""Hostile but realistic local uploads (issue 8): every entry an uploader can leave in DIR ends in
exactly one record, nothing outside DIR is read, and `formintake check` exits 0.

Inputs are made the way the world makes them: names holding ``\\`` (a Windows zip unpacked on Linux),
GBK name bytes (a zip made on Chinese Windows), links out of DIR, dangling links, FIFOs, control
characters in folder names, and the run's own output folder inside DIR.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from formintake import cli, pipeline
from formintake.config import load_campaign
from formintake.samples import base_values, build_sample
from formintake.keys import ResultKeys
from formintake.storage.local import LocalStore
from formintake.versions import read_state

CAMPAIGN = load_campaign("2023")


def _form(seed: int, direction: str = "platform"):
    return build_sample(base_values(direction, seed))


def _records(out: Path) -> list[dict]:
    lines = (out / "records" / "2023" / "applications.jsonl").read_text("utf-8").splitlines()
    return [json.loads(x) for x in lines]


def _version_docs(out: Path) -> list[dict]:
    """Every stored version document as JSON, by version id (formintake.versions: many to an object)."""
    docs = read_state(LocalStore(out), ResultKeys("2023")).docs
    return [docs[vid].model_dump(mode="json") for vid in sorted(docs)]


def _all_output_text(out: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file()
                     and p.suffix in (".json", ".jsonl", ".csv", ".html"))


def _codes(doc: dict) -> list[str]:
    return [f["code"] for f in doc["record"]["findings"]]


def _by_key(docs: list[dict]) -> dict[str, dict]:
    return {d["record"]["source"]["key"]: d for d in docs}


def test_windows_zip_backslash_names_are_read(tmp_path):
    good = _form(101)
    d = tmp_path / "in"
    (d / good.recommender_path).mkdir(parents=True)
    # what `unzip` leaves for a zip made on Windows: one file whose name holds backslashes
    (d / good.recommender_path / f"材料\\{good.name}").write_bytes(good.data)
    (d / good.recommender_path / "..\\..\\evil.docx").write_bytes(good.data)
    store = LocalStore(d, uploads=True)
    keys = [v.key for v in store.list_versions()]
    assert f"{good.recommender_path}/材料\\{good.name}" in keys
    assert f"{good.recommender_path}/..\\..\\evil.docx" in keys
    for k in keys:
        assert store.get(k) == good.data
    result = pipeline.run_campaign(store, LocalStore(tmp_path / "out"), CAMPAIGN, uploads_prefix="")
    assert result.processed == 2
    statuses = {r.source.key: r.status for r in result.records + result.superseded}
    assert set(statuses) == set(keys)
    assert "unreadable" not in statuses.values()
    assert not (tmp_path / "evil.docx").exists()


def test_gbk_names_decoded_and_kept_raw(tmp_path):
    good = _form(102)
    root = tmp_path / "in"
    root.mkdir()
    folder = os.path.join(os.fsencode(root), good.recommender_path.encode("gbk"))
    os.mkdir(folder)
    raw_name = good.name.encode("gbk")
    with open(os.path.join(folder, raw_name), "wb") as fh:
        fh.write(good.data)
    out = tmp_path / "out"
    assert cli.main(["check", str(root), "--out", str(out)]) == 0
    docs = _version_docs(out)
    assert len(docs) == 1
    rec = docs[0]["record"]
    assert rec["source"]["key"] == good.path
    assert bytes.fromhex(rec["source"]["key_bytes_hex"]) == good.recommender_path.encode("gbk") + b"/" + raw_name
    assert rec["recommender_path"] == good.recommender_path
    assert [f for f in rec["findings"] if f["code"] == "FILE_NAME_ENCODING"][0]["severity"] == "info"
    assert rec["status"] == "accepted", rec["findings"]
    # a second run knows the version: nothing re-read, same record
    assert cli.main(["check", str(root), "--out", str(out)]) == 0
    assert _version_docs(out) == docs


def test_utf8_names_carry_no_encoding_finding(tmp_path):
    good = _form(103)
    (tmp_path / "in" / good.recommender_path).mkdir(parents=True)
    (tmp_path / "in" / good.path).write_bytes(good.data)
    [v] = LocalStore(tmp_path / "in", uploads=True).list_versions()
    assert v.key_bytes_hex is None and v.not_regular is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_links_devices_pipes_are_not_read(tmp_path):
    inside, outside = _form(104), _form(105)
    d = tmp_path / "in"
    unit = d / inside.recommender_path
    unit.mkdir(parents=True)
    (unit / inside.name).write_bytes(inside.data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / outside.name).write_bytes(outside.data)
    (unit / "passwd.docx").symlink_to("/etc/passwd")
    (unit / "外部申报书.docx").symlink_to(elsewhere / outside.name)
    (d / "浙江省").symlink_to(elsewhere, target_is_directory=True)  # a linked folder leaving DIR
    (unit / "失效链接.pdf").symlink_to(tmp_path / "nothing-here.pdf")  # dangling
    (unit / "同一文件.docx").symlink_to(unit / inside.name)  # a link inside DIR is an upload like any
    os.mkfifo(unit / "管道.docx")  # reading it would block the run forever
    (d / "null.docx").symlink_to("/dev/null")

    out = tmp_path / "out"
    assert cli.main(["check", str(d), "--out", str(out)]) == 0
    docs = _by_key(_version_docs(out))
    p = inside.recommender_path
    assert set(docs) == {f"{p}/{inside.name}", f"{p}/passwd.docx", f"{p}/外部申报书.docx", "浙江省",
                         f"{p}/失效链接.pdf", f"{p}/同一文件.docx", f"{p}/管道.docx", "null.docx"}
    for key in (f"{p}/passwd.docx", f"{p}/外部申报书.docx", "浙江省", f"{p}/失效链接.pdf", f"{p}/管道.docx", "null.docx"):
        rec = docs[key]["record"]
        assert _codes(docs[key]) == ["FILE_NOT_REGULAR"], key
        assert rec["status"] == "unreadable" and rec["source"]["sha256"] is None and rec["fields"] == {}
    for key in (f"{p}/{inside.name}", f"{p}/同一文件.docx"):
        assert "FILE_NOT_REGULAR" not in _codes(docs[key])
    text = _all_output_text(out)
    assert "root:x:0:0" not in text
    for personal in (outside.values["contact_phone"], outside.values["contact_email"], outside.values["applicant_name"]):
        assert personal not in text


def test_output_folder_inside_dir_is_never_an_upload(tmp_path, monkeypatch):
    good = _form(106)
    d = tmp_path / "in"
    (d / good.recommender_path).mkdir(parents=True)
    (d / good.path).write_bytes(good.data)
    monkeypatch.chdir(d)
    counts = []
    for _ in range(2):  # `formintake check .` twice, default output folder inside DIR
        assert cli.main(["check", "."]) == 0
        counts.append(len(_version_docs(d / "formintake-out")))
    assert counts == [1, 1]
    # results written straight into DIR: state/, records/ and reports/ are not uploads either
    for _ in range(2):
        assert cli.main(["check", ".", "--out", "."]) == 0
    assert len(_version_docs(d)) == 1
    assert [r["source"]["key"] for r in _records(d)] == [good.path]


def test_control_character_in_unknown_unit_folder(tmp_path):
    good = _form(107)
    d = tmp_path / "in"
    (d / good.recommender_path).mkdir(parents=True)
    (d / good.path).write_bytes(good.data)
    # unreadable files name no unit of their own: the folder is the unit a report sheet is named after
    for i, folder in enumerate(["未知单位\x01", "未知单位\x02", "History", "'引号单位'", "a" * 40, "a" * 40 + "b",
                                "[x]:y*?", "单位\t\r\n", "\u2028\x7f", "😀" * 20]):
        (d / folder).mkdir(parents=True)
        (d / folder / f"{i}.docx").write_bytes(b"PK\x03\x04 not really a docx")
    out = tmp_path / "out"
    assert cli.main(["check", str(d), "--out", str(out)]) == 0
    latest = out / "reports" / "2023" / "latest"
    for name in ("exceptions.json", "exceptions.csv", "exceptions.xlsx", "exceptions.html"):
        assert (latest / name).stat().st_size > 0
    from openpyxl import load_workbook

    names = load_workbook(latest / "exceptions.xlsx").sheetnames
    assert len(names) == 2 + 11  # 汇总, 已替代, one per unit
    assert len(names) == len({n.lower() for n in names})
    assert all(len(n) <= 31 and not any(ord(c) < 32 for c in n) for n in names)
    assert all(len(n.encode("utf-16-le")) <= 62 for n in names)  # Excel counts UTF-16 units
    assert "History" not in names  # a name Excel reserves
    assert [r["status"] for r in _records(out)].count("accepted") == 1
    html = (latest / "exceptions.html").read_text("utf-8")
    assert "\x01" not in html and "\x02" not in html and "未知单位\ufffd" in html
    assert "\u2028" not in (out / "records" / "2023" / "applications.jsonl").read_text("utf-8")


def test_extract_gives_every_argument_a_line(tmp_path, capsys):
    a, b = _form(120), build_sample(base_values("experience_center", 121), fmt="pdf")
    (tmp_path / "a.docx").write_bytes(a.data)
    (tmp_path / "b.pdf").write_bytes(b.data)
    (tmp_path / "DIR").mkdir()
    os.mkfifo(tmp_path / "pipe.docx")
    args = [str(tmp_path / n) for n in ("a.docx", "DIR", "pipe.docx", "b.pdf")]
    assert cli.main(["extract", *args]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["source"] for x in lines] == args
    assert [x["status"] for x in lines] == ["accepted", "unreadable", "unreadable", "accepted"]
    assert [f["code"] for f in lines[1]["findings"]] == ["FILE_NOT_REGULAR"]
    assert [f["code"] for f in lines[2]["findings"]] == ["FILE_NOT_REGULAR"]
    # a missing file: its own line, the rest still read, exit status 2 at the end
    assert cli.main(["extract", str(tmp_path / "missing.docx"), args[0]]) == 2
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["source"].endswith("missing.docx") and "error" in lines[0]
    assert lines[1]["status"] == "accepted"
