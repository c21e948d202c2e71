"""Extraction against the sample generator's truth, field by field (target: 100% field accuracy).

Every rendered sample knows the normalised value of each field it wrote (``Sample.truth``); the
extractor must report exactly that value for every one of them, in docx and in PDF, in every style.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

import pytest

from formintake import extractors
from formintake.samples import (
    DEFECT_CODES,
    RenderStyle,
    base_values,
    build_sample,
    defect_samples,
    demo_batch,
    make_defect,
    pick_style,
)
from formintake.samples.defects import INTAKE_CODES
from formintake.samples.render import DATE_STYLES, MAU_STYLES, TICK_STYLES


def _same(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return abs(got - want) < 1e-6
    return got == want


def mismatches(form, truth: dict) -> list[tuple]:
    out = []
    for key, want in truth.items():
        got = form.value(key)
        if not _same(got, want):
            fv = form.fields.get(key)
            out.append((key, want, got, fv.raw if fv else None, fv.state if fv else "absent"))
    return out


def check_sample(sample, **kw):
    form = extractors.extract(sample.data, sample.name, **kw)
    assert [f.code for f in form.intake_findings if f.severity == "error"] == [], sample.name
    assert mismatches(form, sample.truth) == [], (sample.name, sample.style)
    for key in sample.truth:
        ev = form.fields[key].evidence
        assert ev is not None and ev.method.startswith(sample.fmt if sample.fmt == "pdf" else "docx"), key
        if sample.fmt == "pdf":
            assert ev.page is not None and ev.bbox is not None, key
    assert form.direction == sample.direction
    return form


# many seeds, a random style each ---------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["docx", "pdf"])
@pytest.mark.parametrize("direction", ["platform", "experience_center"])
@pytest.mark.parametrize("seed", range(12))
def test_random_styles_field_by_field(seed, direction, fmt):
    style = pick_style(random.Random(f"extract-test:{seed}:{direction}:{fmt}"), fmt)
    check_sample(build_sample(base_values(direction, seed), style, fmt))


# every variant of every style knob, one at a time -----------------------------------------------------
_KNOBS = (
    [("table_columns", 4), ("labels", "variant"), ("spaced_labels", True), ("ascii_brackets", True),
     ("mau_year_in_label", True), ("numbers", "comma"), ("tick_space", True), ("title", "in_title"),
     ("direction_checkbox", True), ("cover_seal", "label"), ("merge_long", True)]
    + [("mau", m) for m in MAU_STYLES] + [("dates", d) for d in DATE_STYLES] + [("tick", t) for t in TICK_STYLES]
)


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
@pytest.mark.parametrize("knob,value", _KNOBS, ids=[f"{k}={v}" for k, v in _KNOBS])
def test_each_style_knob(knob, value, fmt):
    for direction, seed in (("platform", 101), ("experience_center", 202)):
        style = replace(RenderStyle(), **{knob: value})
        check_sample(build_sample(base_values(direction, seed), style, fmt))


def test_combined_hard_style():
    style = RenderStyle(table_columns=4, labels="variant", spaced_labels=True, ascii_brackets=True, mau="zh",
                        mau_year_in_label=True, dates="fullwidth", numbers="comma", tick="delete",
                        title="in_title", direction_checkbox=True, cover_seal="label")
    for fmt in ("docx", "pdf"):
        for direction in ("platform", "experience_center"):
            check_sample(build_sample(base_values(direction, 7), style, fmt))


def test_rank_and_demo_city_on_the_cover():
    v = base_values("experience_center", 5, city="无锡市", recommend_rank=2, demo_city="无锡市")
    for fmt in ("docx", "pdf"):
        form = check_sample(build_sample(v, RenderStyle(labels="variant"), fmt))
        assert form.value("recommend_rank") == 2 and form.value("demo_city") == "无锡市"


# the demo batch and the defect samples ----------------------------------------------------------------
def test_demo_batch():
    for s in demo_batch(0):
        form = extractors.extract(s.data, s.name)
        if s.defect in INTAKE_CODES:
            assert s.defect in [f.code for f in form.intake_findings]
            continue
        assert form.readable, s.name
        if s.fmt == "scan":  # OCR: a misread value must be one FILE_OCR_USED names for the reviewer
            used = next(f for f in form.intake_findings if f.code == "FILE_OCR_USED")
            assert {m[0] for m in mismatches(form, s.truth)} <= set(used.value["low_confidence"]), s.name
            continue
        assert mismatches(form, s.truth) == [], s.name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_defect_samples(seed):
    for s in defect_samples(seed):
        limit = 300_000 if s.defect == "FILE_TOO_LARGE" and s.fmt == "pdf" else 50 * 2**20
        form = extractors.extract(s.data, s.name, size_limit_bytes=limit)
        found = [f.code for f in form.intake_findings]
        if s.defect in INTAKE_CODES:
            assert s.defect in found, (s.name, found)
            assert set(found) <= {s.defect, *s.also}, (s.name, found)
            if s.defect == "FILE_TYPE_MISMATCH":
                assert mismatches(form, s.truth) == [], s.name
            continue
        assert found == [], (s.name, found)
        assert mismatches(form, s.truth) == [], (s.name, s.style)


def test_defect_fields_have_the_expected_states():
    form = extractors.extract(*_data(make_defect("FIELD_PLACEHOLDER", seed=0)))
    assert form.fields["contact_name"].state == "placeholder"
    form = extractors.extract(*_data(make_defect("FIELD_PLACEHOLDER", seed=2)))
    assert form.fields["apply_date"].state == "placeholder"
    form = extractors.extract(*_data(make_defect("FIELD_MISSING", seed=0)))
    assert form.fields["contact_email"].state == "missing"
    form = extractors.extract(*_data(make_defect("FIELD_INVALID_FORMAT", seed=2)))
    assert form.fields["founded_on"].state == "invalid" and form.fields["founded_on"].error
    form = extractors.extract(*_data(make_defect("PLATFORM_NO_SERVICE_SCOPE", seed=0)))
    assert form.fields["service_scopes"].state == "placeholder"
    form = extractors.extract(*_data(make_defect("COMMITMENT_MISSING", seed=1, fmt="pdf")))
    assert form.fields["commitment_date"].state == "placeholder"


def _data(s):
    return s.data, s.name


def test_every_defect_code_is_covered():
    assert set(INTAKE_CODES) <= set(DEFECT_CODES)


# speed --------------------------------------------------------------------------------------------------
def test_speed():
    v = base_values("platform", 3)
    docx = build_sample(v, RenderStyle(), "docx")
    pdf = build_sample(v, RenderStyle(), "pdf")
    extractors.extract(docx.data, docx.name), extractors.extract(pdf.data, pdf.name)  # warm up
    t = time.perf_counter()
    for _ in range(5):
        extractors.extract(docx.data, docx.name)
    docx_ms = (time.perf_counter() - t) / 5 * 1000
    t = time.perf_counter()
    for _ in range(5):
        form = extractors.extract(pdf.data, pdf.name)
    pdf_ms_page = (time.perf_counter() - t) / 5 * 1000 / form.pages
    print(f"docx {docx_ms:.1f} ms/document, pdf {pdf_ms_page:.1f} ms/page ({form.pages} pages)")
    # generous bounds: CI machines are slower and busier than a laptop
    assert docx_ms < 150 and pdf_ms_page < 300
