"""Extraction in worker processes: a document that overruns the time limit is stopped (FILE_TIMEOUT)
and the next document is read by a fresh worker."""

from __future__ import annotations

import io
import time
import zipfile

from formintake.extractors.isolated import IsolatedExtractor
from formintake.samples import base_values, build_sample


def huge_docx(paragraphs: int) -> bytes:
    """A valid form with a body so long that reading it takes seconds (about 20 s per 400,000)."""
    s = build_sample(base_values("platform", 1), fmt="docx")
    zin = zipfile.ZipFile(io.BytesIO(s.data))
    out = io.BytesIO()
    para = "<w:p><w:r><w:t>项目内容：补充说明</w:t></w:r></w:p>".encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:body>", para * paragraphs + b"</w:body>")
            z.writestr(item, data)
    return out.getvalue()


def test_overrunning_document_is_stopped_and_the_next_one_is_read():
    good = build_sample(base_values("experience_center", 2), fmt="pdf")
    with IsolatedExtractor(workers=1) as ex:
        first = ex.extract(good.data, good.name, size_limit_bytes=50 * 2**20, timeout_s=30)
        assert first.intake_findings == [] and first.value("uscc") == good.truth["uscc"]

        started = time.monotonic()
        slow = ex.extract(huge_docx(400_000), "大文件.docx", size_limit_bytes=200 * 2**20, timeout_s=0.5)
        elapsed = time.monotonic() - started
        assert [f.code for f in slow.intake_findings] == ["FILE_TIMEOUT"]
        assert slow.intake_findings[0].severity == "error"
        assert elapsed < 10  # stopped at the limit (+ grace), not read to the end (~20 s in-process)

        after = ex.extract(good.data, good.name, size_limit_bytes=50 * 2**20, timeout_s=30)
        assert after.intake_findings == [] and after.fields.keys() == first.fields.keys()
