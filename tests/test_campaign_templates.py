"""Titles, clauses and messages that quote the notice's numbers come from the campaign file: a 2024
campaign with other numbers renders its own numbers, and the 2023 one keeps the notice's wording."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from formintake.config import load_campaign, load_campaign_file
from formintake.findings import RULES, zh_count
from formintake.reports.common import ReportInput, rule_info
from formintake.reports.markdown import summary_markdown
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
                     ("center_extra_per_demo_city = 2", "center_extra_per_demo_city = 1"),
                     ("notice_date = 2023-07-26", "notice_date = 2024-06-20"),
                     ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Hong_Kong"'),
                     ("summary_min_chars = 50", "summary_min_chars = 80"),
                     ("summary_max_chars = 1000", "summary_max_chars = 800")]:
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


def _own(findings, code, field=None):
    return [f for f in findings if f.code == code and (field is None or f.field == field)]


def test_completeness_messages_follow_the_campaign(c2024):
    form = make_form("platform", summary="字" * 60)  # 60: short under 2024's 80, fine under 2023's 50
    [f] = _own(run_application_rules(form, RuleContext(campaign=c2024)), "FIELD_INVALID_FORMAT", "summary")
    assert f.expected == "80–800字" and f.value == "60字"
    assert f.message == "项目简介共60字，少于申报书要求的80字（模板要求，请评审人员判断）。"
    assert f.hint == "请将项目简介补充至80–800字。"
    assert not _own(run_application_rules(form, RuleContext(campaign=load_campaign("2023"))), "FIELD_INVALID_FORMAT",
                    "summary")
    [f] = _own(run_application_rules(make_form("platform", summary="字" * 900), RuleContext(campaign=c2024)),
               "FIELD_INVALID_FORMAT", "summary")
    assert "超过申报书要求的800字" in f.message and f.hint == "请将项目简介精简至80–800字。"


def test_dates_quote_the_campaigns_notice(c2024):
    form = make_form("platform", apply_date="2024-05-01")  # before 2024's notice, after 2023's
    [f] = _own(run_application_rules(form, RuleContext(campaign=c2024)), "DATE_INCONSISTENT", "apply_date")
    assert f.expected == "不早于通知印发日期2024年6月20日" and "印发日期2024年6月20日" in f.message
    assert not _own(run_application_rules(form, RuleContext(campaign=load_campaign("2023"))), "DATE_INCONSISTENT",
                    "apply_date")


def test_batch_messages_carry_the_campaign_numbers(c2024):
    centers = [rec(f"js{i}", "江苏省", recommend_rank=i) for i in (1, 2, 3, 4)]  # 4 > 2024's 3, within 2023's 5
    [f] = _own(run_batch_rules(centers, c2024)["js4"], "QUOTA_EXCEEDED")
    assert f.expected == "每个推荐单位体验中心方向不超过3个（推荐排序1–3）"
    assert "项目4个（不含示范城市额外推荐），超过3个；本项目推荐排序为4" in f.message
    assert f.hint == "请推荐单位明确推荐排序，只保留3个项目。" and "(quota 3)" in f.message_en
    assert not any(_own(fs, "QUOTA_EXCEEDED") for fs in run_batch_rules(centers, load_campaign("2023")).values())

    extras = [rec(f"wx{i}", "江苏省", demo_city="无锡市", recommend_rank=i) for i in (1, 2)]  # 2 > 2024's 1
    [f] = _own(run_batch_rules(extras, c2024)["wx2"], "CITY_EXTRA_QUOTA_EXCEEDED")
    assert f.expected == "每个示范城市额外推荐不超过1个" and "超过1个" in f.message and "只保留1个" in f.hint
    assert not any(_own(fs, "CITY_EXTRA_QUOTA_EXCEEDED") for fs in run_batch_rules(extras, load_campaign("2023")).values())

    late = [rec("late", "江苏省", recommender_date="2024-10-16")]  # after 2024's deadline
    [f] = _own(run_batch_rules(late, c2024)["late"], "LATE_SUBMISSION")
    assert f.expected == "不晚于2024-10-15" and f.message == "推荐单位意见日期为2024-10-16，晚于报送截止日期2024-10-15。"
    assert "after the deadline 2024-10-15" in f.message_en
    on_time = [rec("ok", "江苏省", recommender_date="2024-10-15")]
    assert not _own(run_batch_rules(on_time, c2024)["ok"], "LATE_SUBMISSION")


def test_late_upload_names_the_campaign_zone_in_expected(c2024):
    camp = c2024.model_copy(update={"check_upload_time": True})
    records = [rec("late", "江苏省", recommender_date="2024-10-01", uploaded_at="2024-10-15T16:30:00Z")]
    [f] = _own(run_batch_rules(records, camp)["late"], "LATE_SUBMISSION")
    assert f.expected == "不晚于2024-10-15 23:59:59（Asia/Hong_Kong）"
    assert f.message == "文件上传时间为2024-10-16 00:30（UTC+8 北京），晚于报送截止日期2024-10-15。"


def test_prefect_summary_names_the_campaign_time_zone(c2024):
    def first_line(campaign):
        inp = ReportInput(campaign=campaign, run_id="r1", generated_at="2024-10-15T16:30:00+00:00", records=[],
                          superseded=[])
        return next(line for line in summary_markdown(inp).splitlines() if "生成于" in line)

    assert "生成于 2024-10-16 00:30:00（UTC+8 北京）" in first_line(c2024)  # Hong Kong's zone, the 2024 label
    assert "（北京时间）" in first_line(load_campaign("2023"))
