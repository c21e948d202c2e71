"""Legacy .doc / .wps / .rtf: converted with LibreOffice headless when it is installed, a clear
FILE_UNSUPPORTED_TYPE naming the package to install when it is not.

The legacy inputs are made by LibreOffice itself at test time (docx -> doc, docx -> rtf, docx -> odt ->
docx), in one module fixture: each LibreOffice start costs a second or two. ``./run test`` installs
``libreoffice-writer-nogui``; without it the conversion tests skip and the "absent" tests still run.
"""

from __future__ import annotations

import io
import os
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from formintake import extractors
from formintake.extractors.convert import INSTALL_PACKAGE, SOFFICE_ENV, find_soffice
from formintake.extractors.isolated import IsolatedExtractor
from formintake.samples.render import RenderStyle, render_docx
from formintake.samples.values import base_values, truth_of
from formintake.samples.wordml import WordMarkup, render_wordml
from tests.test_extractors import _ole

V = base_values("experience_center", 7)
TRUTH = truth_of(V)


def codes(form):
    return [f.code for f in form.intake_findings]


def diff(form):
    got = {k: fv.value for k, fv in form.fields.items()}
    return {k: (TRUTH.get(k), got.get(k)) for k in set(TRUTH) | set(got) if TRUTH.get(k) != got.get(k)}


def _soffice(fmt: str, outdir: Path, profile: Path, *sources: Path) -> None:
    binary = find_soffice()
    subprocess.run([binary, "--headless", "--norestore", "--nologo", "--nolockcheck", "--nodefault",
                    f"-env:UserInstallation={profile.as_uri()}", "--convert-to", fmt, "--outdir", str(outdir),
                    *map(str, sources)], check=False, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    """{name: bytes} of files LibreOffice wrote: a .doc of a Word-markup form (tracked changes, form
    fields, text box), an .rtf of a clean form, and the markup form after docx -> odt -> docx."""
    if find_soffice() is None:
        pytest.skip(f"LibreOffice not installed (./run test installs {INSTALL_PACKAGE})")
    d = tmp_path_factory.mktemp("lo")
    profile = d / "profile"
    (d / "word.docx").write_bytes(render_wordml(V, RenderStyle(table_columns=4), WordMarkup()))
    (d / "clean.docx").write_bytes(render_docx(V, RenderStyle()))
    _soffice("doc", d / "doc", profile, d / "word.docx")  # first run only makes the profile (exit 81)
    if not (d / "doc" / "word.doc").exists():
        _soffice("doc", d / "doc", profile, d / "word.docx")
    _soffice("rtf", d / "rtf", profile, d / "clean.docx")
    _soffice("odt", d / "odt", profile, d / "word.docx")
    _soffice("docx", d / "back", profile, d / "odt" / "word.odt")
    out = {"doc": d / "doc" / "word.doc", "rtf": d / "rtf" / "clean.rtf", "lo.docx": d / "back" / "word.docx"}
    return {k: p.read_bytes() for k, p in out.items()}


def test_docx_written_by_libreoffice_reads_like_the_original(legacy):
    data = legacy["lo.docx"]
    app = zipfile.ZipFile(io.BytesIO(data)).read("docProps/app.xml")
    assert b"LibreOffice" in app  # really LibreOffice's own writer
    form = extractors.extract(data, "round-trip.docx")
    assert codes(form) == [] and diff(form) == {}


def test_doc_is_converted_in_the_isolated_worker_and_read(legacy):
    data = legacy["doc"]
    assert data.startswith(bytes.fromhex("D0CF11E0A1B11AE1"))
    with IsolatedExtractor(workers=1) as ex:
        form = ex.extract(data, "申报书.doc", size_limit_bytes=50 * 2**20, timeout_s=60)
    assert codes(form) == ["FILE_CONVERTED"] and form.file_type == "docx"
    assert diff(form) == {}  # tracked changes and form fields survived .doc and were accepted
    f = form.intake_findings[0]
    assert f.severity == "info" and "LibreOffice" in f.message


def test_rtf_and_doc_renamed_docx_are_converted(legacy):
    form = extractors.extract(legacy["rtf"], "申报书.rtf")
    assert codes(form) == ["FILE_CONVERTED"] and diff(form) == {}
    renamed = extractors.extract(legacy["doc"], "申报书.docx")
    assert codes(renamed) == ["FILE_TYPE_MISMATCH", "FILE_CONVERTED"] and diff(renamed) == {}
    assert "旧版Word" in renamed.intake_findings[0].message
    wps = extractors.extract(legacy["doc"], "申报书.wps")  # WPS 文字 .wps: Word's binary format, no mismatch
    assert codes(wps) == ["FILE_CONVERTED"] and diff(wps) == {}


def test_a_broken_doc_is_corrupt_after_libreoffice_tried(legacy):
    form = extractors.extract(_ole("WordDocument", "1Table"), "a.doc")
    assert codes(form) == ["FILE_CORRUPT"]
    assert "LibreOffice无法打开" in form.intake_findings[0].message


def test_conversion_over_the_time_limit_is_stopped(legacy):
    form = extractors.extract(legacy["doc"], "a.doc", timeout_s=0.8)
    assert codes(form) == ["FILE_TIMEOUT"] and "转换" in form.intake_findings[0].message


def test_without_libreoffice_by_configuration(monkeypatch, legacy_bytes):
    monkeypatch.setenv(SOFFICE_ENV, "none")
    for data, name in legacy_bytes:
        form = extractors.extract(data, name)
        assert codes(form) == ["FILE_UNSUPPORTED_TYPE"], name
        assert INSTALL_PACKAGE in form.intake_findings[0].message and not form.fields


def test_without_libreoffice_on_path(monkeypatch, tmp_path, legacy_bytes):
    monkeypatch.delenv(SOFFICE_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no soffice, no libreoffice
    assert find_soffice() is None
    data, name = legacy_bytes[0]
    form = extractors.extract(data, name)
    assert codes(form) == ["FILE_UNSUPPORTED_TYPE"] and INSTALL_PACKAGE in form.intake_findings[0].message


def test_configured_soffice_path_is_used(monkeypatch):
    real = find_soffice()
    if real is None:
        pytest.skip("LibreOffice not installed")
    monkeypatch.setenv(SOFFICE_ENV, real)
    assert find_soffice() == real
    monkeypatch.setenv(SOFFICE_ENV, "/nonexistent/soffice")
    assert find_soffice() is None


@pytest.fixture
def legacy_bytes():
    """Legacy inputs that need no LibreOffice to make: an OLE file with a WordDocument stream, an RTF,
    a web page and a Word 2003 XML document saved as .doc."""
    return [(_ole("WordDocument", "1Table"), "申报书.doc"), (_ole("WordDocument"), "申报书.wps"),
            (b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 SimSun;}} \\f0 hello}", "申报书.rtf"),
            (WORD_HTML, "导出.doc"), (WORD_2003_XML, "申报书.doc")]


FORM_ROWS = (("体验中心名称", "星河信息消费体验馆"), ("所在城市", "北京市"), ("体验中心面积（平方米）", "350"))
# what Word's 另存为网页 (and many web systems' "导出Word") writes: HTML with Office namespaces, in GBK
WORD_HTML = (
    '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">\r\n<head>'
    '<meta http-equiv=Content-Type content="text/html; charset=gb2312"><meta name=ProgId content=Word.Document>'
    '<meta name=Generator content="Microsoft Word 15"><!--[if gte mso 9]><xml><w:WordDocument><w:View>Print</w:View>'
    '</w:WordDocument></xml><![endif]--></head>\r\n<body lang=ZH-CN><div class=WordSection1>'
    "<p class=MsoNormal>2023年新型信息消费示范项目申报书</p><p class=MsoNormal>（信息消费体验中心方向）</p>"
    "<p class=MsoNormal>二、项目基本情况</p><table class=MsoTableGrid border=1>"
    + "".join(f"<tr><td><p class=MsoNormal>{k}</p></td><td><p class=MsoNormal>{v}</p></td></tr>" for k, v in FORM_ROWS)
    + "</table></div></body></html>").encode("gbk")
WORD_2003_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<?mso-application progid="Word.Document"?>'
    '<w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml" '
    'xmlns:wx="http://schemas.microsoft.com/office/word/2003/auxHint" w:macrosPresent="no" w:embeddedObjPresent="no" '
    'w:ocxPresent="no" xml:space="preserve"><w:body>'
    + "".join(f"<w:p><w:r><w:t>{t}</w:t></w:r></w:p>" for t in ("2023年新型信息消费示范项目申报书",
                                                                "（信息消费体验中心方向）", "二、项目基本情况"))
    + "<w:tbl><w:tblPr><w:tblW w:w=\"0\" w:type=\"auto\"/></w:tblPr><w:tblGrid><w:gridCol w:w=\"4000\"/>"
      "<w:gridCol w:w=\"4000\"/></w:tblGrid>"
    + "".join(f"<w:tr><w:tc><w:tcPr><w:tcW w:w=\"4000\" w:type=\"dxa\"/></w:tcPr><w:p><w:r><w:t>{k}</w:t></w:r></w:p></w:tc>"
              f"<w:tc><w:tcPr><w:tcW w:w=\"4000\" w:type=\"dxa\"/></w:tcPr><w:p><w:r><w:t>{v}</w:t></w:r></w:p></w:tc></w:tr>"
              for k, v in FORM_ROWS)
    + "</w:tbl><w:sectPr/></w:body></w:wordDocument>").encode("utf-8")


@pytest.mark.parametrize("data,kind", [(WORD_HTML, "网页"), (WORD_2003_XML, "Word 2003 XML")])
def test_web_page_and_word_2003_xml_saved_as_doc_are_converted(legacy, data, kind):
    form = extractors.extract(data, "申报书.doc")
    assert codes(form) == ["FILE_TYPE_MISMATCH", "FILE_CONVERTED"], [f.message for f in form.intake_findings]
    assert kind in form.intake_findings[0].message
    assert (form.value("center_name"), form.value("center_city"), form.value("area_sqm")) == \
        ("星河信息消费体验馆", "北京市", 350.0)


def test_password_protected_doc_is_encrypted_not_converted(legacy):
    """Word marks a password-protected .doc in its File Information Block (fEncrypted, 0x0100 of the
    flags at byte 10): FILE_ENCRYPTED from the bytes, LibreOffice is not even started."""
    from formintake.extractors.sniff import sniff

    doc = bytearray(legacy["doc"])
    fib = next(i for i in range(512, len(doc), 512) if doc[i:i + 2] == b"\xec\xa5")  # the FIB starts a sector
    assert sniff(bytes(doc), "a.doc").kind == "doc" and not sniff(bytes(doc), "a.doc").findings
    doc[fib + 11] |= 0x01
    form = extractors.extract(bytes(doc), "申报书.doc")
    # not FILE_CORRUPT (LibreOffice failing) nor FILE_CONVERTED: decided from the bytes
    assert codes(form) == ["FILE_ENCRYPTED"] and "密码" in form.intake_findings[0].message


def test_single_file_web_page_says_what_it_is():
    mht = (b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="----=_NextPart_01D9"\r\n\r\n'
           b"------=_NextPart_01D9\r\nContent-Type: text/html\r\n\r\n" + WORD_HTML + b"\r\n------=_NextPart_01D9--\r\n")
    form = extractors.extract(mht, "申报书.doc")
    assert codes(form) == ["FILE_UNSUPPORTED_TYPE"] and "MHT" in form.intake_findings[0].message


@pytest.mark.parametrize("streams,value", [(("Workbook",), "xls"), (("PowerPoint Document",), "ppt"),
                                           (("Contents",), "ole")])
def test_other_ole_files_are_unsupported_without_trying_to_convert(streams, value):
    form = extractors.extract(_ole(*streams), "a.doc")
    assert codes(form) == ["FILE_UNSUPPORTED_TYPE"] and form.intake_findings[0].value == value


def test_profile_is_private_to_the_process():
    from formintake.extractors import convert

    prof = convert._profile_dir()
    assert prof.name.endswith(f"-{os.getpid()}") and prof.is_dir()
    assert oct(prof.stat().st_mode & 0o777) == "0o700"


def test_check_reads_word_markup_and_doc_like_the_clean_original(tmp_path, legacy):
    """Done-when of issue 7 (Word part): ``formintake check`` on the clean form, the same form filled
    with tracked changes and legacy form fields, and its .doc: the same fields in all three records."""
    import json

    from formintake.cli import main

    for folder, name, data in (("a", "clean.docx", render_docx(V, RenderStyle())),
                               ("b", "word.docx", render_wordml(V, RenderStyle(table_columns=4), WordMarkup())),
                               ("c", "word.doc", legacy["doc"])):
        (tmp_path / "in" / folder).mkdir(parents=True)
        (tmp_path / "in" / folder / name).write_bytes(data)
    assert main(["check", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 0
    lines = (tmp_path / "out/records/2023/applications.jsonl").read_text(encoding="utf-8").splitlines()
    records = {json.loads(x)["source"]["key"]: json.loads(x) for x in lines}
    assert len(records) == 3
    clean, word, doc = records["a/clean.docx"], records["b/word.docx"], records["c/word.doc"]
    assert word["fields"] == clean["fields"] == doc["fields"]
    assert {k: v for k, v in clean["fields"].items() if k in TRUTH} == TRUTH
    assert "FILE_CONVERTED" in {f["code"] for f in doc["findings"]}
    assert "FILE_CONVERTED" not in {f["code"] for f in word["findings"]}


def _children_named(ppid: int, name: str) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            if comm == name and int(fields[1].split()[1]) == ppid:
                out.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def test_converter_dies_with_a_killed_worker(legacy, tmp_path):
    """The pool kills a worker that overruns (SIGKILL): the LibreOffice it started must not live on."""
    import signal
    import sys

    (tmp_path / "a.doc").write_bytes(legacy["doc"])
    code = ("import sys, time; from formintake.extractors.convert import to_docx; "
            "to_docx(open(sys.argv[1], 'rb').read(), 'doc', deadline=time.monotonic() + 60)")
    worker = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "a.doc")])
    found: list[int] = []
    try:
        deadline = time.monotonic() + 20
        while not found and time.monotonic() < deadline and worker.poll() is None:
            found = _children_named(worker.pid, "soffice.bin")
            time.sleep(0.05)
        assert found, "LibreOffice did not start"
        os.kill(found[0], signal.SIGSTOP)  # frozen: it cannot finish on its own, only a SIGKILL ends it
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        stat = Path(f"/proc/{found[0]}/stat")
        gone = time.monotonic() + 10
        while stat.exists() and time.monotonic() < gone and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.05)
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    finally:
        if worker.poll() is None:
            worker.kill()
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
