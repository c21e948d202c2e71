"""An impossible date (2023年9月31日) is FIELD_INVALID_FORMAT naming the value, never FIELD_MISSING 未填写,
wherever the form writes it: a labelled cell or the bare date line under 承诺 / 推荐单位意见."""

from __future__ import annotations

import pytest

from formintake import pipeline
from formintake.config import load_campaign
from formintake.extractors.normalize import parse_date
from formintake.samples import base_values, build_sample
from formintake.samples.values import Raw

CAMPAIGN = load_campaign("2023")


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
@pytest.mark.parametrize("key,written", [("recommender_date", "2023年9月31日"), ("commitment_date", "2023年2月29日"),
                                         ("founded_on", "2019年13月2日")])
def test_impossible_date_is_invalid_format_naming_the_value(key, written, fmt):
    v = base_values("platform", 141)
    v[key] = Raw(written)
    s = build_sample(v, fmt=fmt)
    _, findings = pipeline.extract_and_check(s.data, s.name, CAMPAIGN)
    mine = [f for f in findings if f.field == key]
    assert [f.code for f in mine] == ["FIELD_INVALID_FORMAT"], [(f.code, f.field) for f in findings]
    assert mine[0].value == written and written in mine[0].message
    assert not any(f.code in ("FIELD_MISSING", "COMMITMENT_MISSING") and f.field == key for f in findings)


def test_possible_dates_still_read():
    assert parse_date("2024年2月29日") == "2024-02-29"
    assert parse_date("二〇二三年九月三十日") == "2023-09-30"
    assert parse_date("2023年9月31日") is None
