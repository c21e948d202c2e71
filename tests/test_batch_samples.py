"""Batch rules on generated forms, end to end: files in a folder laid out like the bucket, through the
real extractors, the per-application rules, linking and the batch rules (`run_campaign`).

For every batch code, one small batch that triggers it (on exactly the expected files) and one that
does not.
"""

from __future__ import annotations

import pytest

from formintake import pipeline
from formintake.config import load_campaign
from formintake.samples import base_values, build_sample, write_samples
from formintake.storage.local import LocalStore

CAMPAIGN = load_campaign("2023")
CMCC = "中国移动通信集团有限公司"


def center(seed, *, province="江苏省", city=None, folder=None, fmt="docx", **over):
    v = base_values("experience_center", seed, province=None if city else province, city=city, **over)
    return build_sample(v, fmt=fmt, recommender_path=folder)


def platform(seed, *, province="广东省", folder=None, fmt="docx", **over):
    return build_sample(base_values("platform", seed, province=province, **over), fmt=fmt, recommender_path=folder)


def run(tmp_path, samples):
    write_samples(tmp_path / "in", samples)
    result = pipeline.run_campaign(LocalStore(tmp_path / "in"), LocalStore(tmp_path / "out"), CAMPAIGN,
                                   uploads_prefix="")
    assert len(result.records) == len(samples)
    return {r.source.key: r for r in result.records}


def flagged(records, code):
    return {key for key, r in records.items() if any(f.code == code for f in r.findings)}


def ranked_centers(n, start=300):
    return [center(start + r, recommend_rank=r) for r in range(1, n + 1)]


CASES = {
    # code: (triggering batch, indexes of the files it must flag, a batch that must not trigger it)
    "QUOTA_EXCEEDED": (lambda: ranked_centers(6), [5], lambda: ranked_centers(5)),
    "CITY_EXTRA_QUOTA_EXCEEDED": (
        lambda: [center(400 + i, city="无锡市", folder="江苏省", demo_city="无锡市", recommend_rank=i) for i in (1, 2, 3)],
        [2],
        lambda: [center(400 + i, city="无锡市", folder="江苏省", demo_city="无锡市", recommend_rank=i) for i in (1, 2)],
    ),
    "CITY_EXTRA_NOT_DEMO_CITY": (
        lambda: [center(410, city="苏州市", folder="江苏省", demo_city="苏州市")],
        [0],
        lambda: [center(410, city="无锡市", folder="江苏省", demo_city="无锡市")],
    ),
    "CITY_EXTRA_NOT_VIA_PROVINCE": (
        lambda: [center(420, city="无锡市", folder="无锡市", demo_city="无锡市", recommender="无锡市工业和信息化局")],
        [0],
        lambda: [center(420, city="无锡市", folder="江苏省", demo_city="无锡市")],
    ),
    "RECOMMENDER_UNKNOWN": (
        lambda: [center(430, city="苏州市", folder="苏州市", recommender="苏州市工业和信息化局")],
        [0],
        lambda: [center(430, city="苏州市", folder="江苏省")],
    ),
    "PLATFORM_QUOTA_NONE": (
        lambda: [platform(440 + i, folder="广东省") for i in range(6)],
        [0, 1, 2, 3, 4, 5],
        lambda: [platform(440 + i, folder="广东省") for i in range(2)],
    ),
    "DUPLICATE_APPLICATION": (
        # the same project filed by its province and by a central enterprise
        lambda: [platform(450, folder="广东省"), platform(450, folder=CMCC, recommender=CMCC)],
        [0, 1],
        lambda: [platform(450, folder="广东省"), platform(451, folder=CMCC, recommender=CMCC)],
    ),
    "LATE_SUBMISSION": (
        lambda: [center(460, recommender_date="2023-09-12")],
        [0],
        lambda: [center(460, recommender_date="2023-09-08")],
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_batch_rule_triggers_on_exactly_the_expected_files(code, tmp_path):
    make, expected, _ = CASES[code]
    samples = make()
    records = run(tmp_path, samples)
    assert flagged(records, code) == {samples[i].path for i in expected}


@pytest.mark.parametrize("code", sorted(CASES))
def test_batch_rule_stays_quiet(code, tmp_path):
    _, _, make_ok = CASES[code]
    samples = make_ok()
    records = run(tmp_path, samples)
    assert flagged(records, code) == set()
    # and the batch is clean as a whole
    assert {f.code for r in records.values() for f in r.findings if f.severity != "info"} == set()


def test_quota_usage_in_the_report(tmp_path):
    samples = ranked_centers(6) + [center(400, city="无锡市", folder="江苏省", demo_city="无锡市")]
    write_samples(tmp_path / "in", samples)
    result = pipeline.run_campaign(LocalStore(tmp_path / "in"), LocalStore(tmp_path / "out"), CAMPAIGN,
                                   uploads_prefix="")
    unit = next(u for u in result.quota_units if u["unit"] == "江苏省")
    assert (unit["center_count"], unit["center_quota"], unit["extra_count"]) == (6, 5, 1)
    city = next(c for c in result.quota_cities if c["city"] == "无锡市")
    assert (city["extras"], city["quota"]) == (1, 2)
    html = (tmp_path / "out/reports/2023/latest/exceptions.html").read_text(encoding="utf-8")
    assert "6 / 5" in html and "无锡市" in html
