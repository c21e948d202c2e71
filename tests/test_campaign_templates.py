"""Titles, clauses and messages that quote the notice's numbers come from the campaign file: a 2024
campaign with other numbers renders its own numbers, and the 2023 one keeps the notice's wording."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from formintake.config import load_campaign, load_campaign_file
from formintake.findings import RULES, zh_count
from formintake.reports.common import rule_info
from formintake.validators.batch import run_batch_rules
from formintake.validators.registry import RuleContext, run_application_rules
from tests.test_rules_application import make_form
from tests.test_rules_batch import rec

SRC = Path(load_campaign("2023").config_path)


@pytest.fixture(scope="module")
def c2024(tmp_path_factory) -> object:
    d = tmp_path_factory.mktemp("campaign2024")
    text = SRC.read_text(encoding="utf-8")
    for old, new in [('id = "2023"', 'id = "2024"'), ("deadline = 2023-09-08", "deadline = 2024-10-15"),
                     ("campaign_year = 2023", "campaign_year = 2024"),
                     ('timezone_label = "北京时间"', 'timezone_label = "UTC+8 北京"'),
                     ("mau_min = 100000000", "mau_min = 50000000"), ("area_min_sqm = 300", "area_min_sqm = 500"),
                     ("center_per_unit = 5", "center_per_unit = 3"),
                     ("center_extra_per_demo_city = 2", "center_extra_per_demo_city = 1")]:
        assert old in text, old
        text = text.replace(old, new)
    (d / "2024.toml").write_text(text, encoding="utf-8")
    shutil.copy(SRC.parent / "demo_cities_2023.csv", d / "demo_cities_2023.csv")
    return load_campaign_file(d / "2024.toml")


def test_titles_and_clauses_follow_the_campaign(c2024):
    assert rule_info("CENTER_AREA_BELOW_300", c2024) == ("体验中心面积低于500平方米", "二（二） 原则上不低于500平方米")
    assert rule_info("PLATFORM_MAU_BELOW_100M", c2024) == ("上一年度平均月活用户数低于5000万", "二（一） 月活不低于5000万")
    assert RULES["QUOTA_EXCEEDED"].clause_for(c2024) == "四（二） 不超过3个"
    assert RULES["CITY_EXTRA_QUOTA_EXCEEDED"].clause_for(c2024) == "四（二） 额外推荐不超过1个"
    assert RULES["LATE_SUBMISSION"].clause_for(c2024) == "四（三） 2024年10月15日前"


def test_2023_keeps_the_notice_wording():
    c = load_campaign("2023")
    assert rule_info("CENTER_AREA_BELOW_300", c) == ("体验中心面积低于300平方米", "二（二） 原则上不低于300平方米")
    assert rule_info("PLATFORM_MAU_BELOW_100M", c)[0] == "上一年度平均月活用户数低于1亿"
    assert RULES["LATE_SUBMISSION"].clause_for(c) == "四（三） 2023年9月8日前"
    assert [zh_count(n) for n in (100000000, 50000000, 120000000, 12345)] == ["1亿", "5000万", "1.2亿", "12345"]


def test_application_findings_carry_the_campaign_numbers(c2024):
    area = [f for f in run_application_rules(make_form("experience_center", area_sqm=400.0), RuleContext(campaign=c2024))
            if f.code == "CENTER_AREA_BELOW_300"]
    assert len(area) == 1 and "500平方米" in area[0].message and area[0].clause == "二（二） 原则上不低于500平方米"
    # 400 m² is enough under 2023's 300
    assert not [f for f in run_application_rules(make_form("experience_center", area_sqm=400.0),
                                                 RuleContext(campaign=load_campaign("2023")))
                if f.code == "CENTER_AREA_BELOW_300"]
    mau = [f for f in run_application_rules(make_form("platform", mau_prev_avg=40000000), RuleContext(campaign=c2024))
           if f.code == "PLATFORM_MAU_BELOW_100M"]
    assert len(mau) == 1 and "不足5000万" in mau[0].hint and mau[0].clause == "二（一） 月活不低于5000万"


def test_late_upload_names_the_campaign_time_zone(c2024):
    camp = c2024.model_copy(update={"check_upload_time": True})
    records = [rec("late", "江苏省", recommender_date="2024-10-01", uploaded_at="2024-10-15T16:30:00Z")]
    [f] = [f for f in run_batch_rules(records, camp)["late"] if f.code == "LATE_SUBMISSION"]
    assert "（UTC+8 北京）" in f.message and f.clause == "四（三） 2024年10月15日前"
