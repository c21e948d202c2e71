"""Realistic, valid filled applications in the normalised form of :mod:`formintake.models`.

``base_values(direction, seed)`` returns one application as ``{field key: normalised value}``: every
field of :mod:`formintake.fields` for the common sections plus that direction's own section. Text is
already folded the way the extractor folds it (full-width ASCII such as ``，`` -> ``,``); the renderer
writes the full-width punctuation people type, which folds back to exactly these values.

Two kinds of non-values may be put into a values dict (by ``overrides`` or the defect makers):

* ``None`` / ``""`` / ``[]``  -- the field is written blank (an unticked checkbox group for sets/enums);
* :class:`Raw`               -- text written as-is that is not a value (a placeholder, a malformed
  e-mail, ...). Neither appears in :func:`truth_of`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from formintake.fields import BY_KEY, FIELDS, required_for

NOTICE_DATE = dt.date(2023, 7, 26)
DEADLINE = dt.date(2023, 9, 8)
CAMPAIGN_YEAR = 2023


@dataclass(frozen=True)
class Raw:
    """Text written into the form verbatim that is not a value (placeholder, malformed value)."""

    text: str


# ---------------------------------------------------------------------------------------------------
# Geography: province -> (GB/T 2260 code, industry-and-IT department, cities)
# city: (name, GB/T 2260 code, phone area code, postcode, districts)

@dataclass(frozen=True)
class City:
    name: str
    code: str
    area_code: str
    postcode: str
    districts: tuple[str, ...]


@dataclass(frozen=True)
class Province:
    name: str
    code: str
    department: str
    cities: tuple[City, ...]


C = City
PROVINCES: dict[str, Province] = {
    p.name: p
    for p in (
        Province("江苏省", "320000", "江苏省工业和信息化厅", (
            C("南京市", "320100", "025", "210000", ("建邺区", "鼓楼区", "江宁区", "玄武区")),
            C("苏州市", "320500", "0512", "215000", ("工业园区", "姑苏区", "吴中区", "相城区")),
            C("无锡市", "320200", "0510", "214000", ("梁溪区", "新吴区", "滨湖区")),
            C("常州市", "320400", "0519", "213000", ("新北区", "武进区")),
        )),
        Province("广东省", "440000", "广东省工业和信息化厅", (
            C("广州市", "440100", "020", "510000", ("天河区", "海珠区", "番禺区", "黄埔区")),
            C("深圳市", "440300", "0755", "518000", ("南山区", "福田区", "龙岗区", "宝安区")),
            C("佛山市", "440600", "0757", "528000", ("禅城区", "南海区", "顺德区")),
            C("东莞市", "441900", "0769", "523000", ("松山湖", "南城街道")),
        )),
        Province("浙江省", "330000", "浙江省经济和信息化厅", (
            C("杭州市", "330100", "0571", "310000", ("滨江区", "西湖区", "余杭区", "上城区")),
            C("宁波市", "330200", "0574", "315000", ("鄞州区", "海曙区")),
            C("温州市", "330300", "0577", "325000", ("鹿城区", "瓯海区")),
        )),
        Province("山东省", "370000", "山东省工业和信息化厅", (
            C("济南市", "370100", "0531", "250000", ("历下区", "高新区")),
            C("青岛市", "370200", "0532", "266000", ("市南区", "崂山区", "黄岛区")),
        )),
        Province("四川省", "510000", "四川省经济和信息化厅", (
            C("成都市", "510100", "028", "610000", ("高新区", "锦江区", "武侯区")),
            C("泸州市", "510500", "0830", "646000", ("江阳区",)),
        )),
        Province("湖北省", "420000", "湖北省经济和信息化厅", (
            C("武汉市", "420100", "027", "430000", ("洪山区", "江汉区", "东湖高新区")),
        )),
        Province("安徽省", "340000", "安徽省经济和信息化厅", (
            C("合肥市", "340100", "0551", "230000", ("蜀山区", "包河区", "高新区")),
        )),
        Province("福建省", "350000", "福建省工业和信息化厅", (
            C("福州市", "350100", "0591", "350000", ("鼓楼区", "仓山区")),
            C("厦门市", "350200", "0592", "361000", ("思明区", "湖里区")),
        )),
        Province("北京市", "110000", "北京市经济和信息化局", (
            C("北京市", "110100", "010", "100000", ("海淀区", "朝阳区", "东城区", "丰台区")),
        )),
        Province("上海市", "310000", "上海市经济和信息化委员会", (
            C("上海市", "310100", "021", "200000", ("浦东新区", "徐汇区", "静安区", "杨浦区")),
        )),
    )
}
del C

# 计划单列市 and their departments (they recommend directly, filed under the city's name)
PLAN_CITY_DEPARTMENTS = {
    "大连市": "大连市工业和信息化局",
    "青岛市": "青岛市工业和信息化局",
    "宁波市": "宁波市经济和信息化局",
    "厦门市": "厦门市工业和信息化局",
    "深圳市": "深圳市工业和信息化局",
}
CORPS = "新疆生产建设兵团"
CORPS_DEPARTMENT = "新疆生产建设兵团工业和信息化局"
CENTRAL_ENTERPRISES = ("中国移动通信集团有限公司", "中国电信集团有限公司", "中国联合网络通信集团有限公司")


# numbers that exist in the numbering plan (what libphonenumber, and so the FIELD_INVALID_FORMAT check,
# accepts): mobile prefixes not allocated to anybody are moved to a neighbour, areas with seven-digit
# local numbers get seven digits, and no local number starts with 800 (the same draws as before)
_UNALLOCATED_MOBILE = {"154": "155", "174": "175", "179": "178", "194": "195"}
_SEVEN_DIGIT_AREAS = ("0592", "0830")  # 厦门, 泸州


def _mobile(prefix: str, rest: int) -> str:
    return f"{_UNALLOCATED_MOBILE.get(prefix, prefix)}{rest:08d}"


def _landline(area: str, local: str) -> str:
    if area in _SEVEN_DIGIT_AREAS:
        local = local[:7]
    if local.startswith("800"):
        local = "801" + local[3:]
    return f"{area}-{local}"


def find_city(name: str) -> tuple[Province, City]:
    for p in PROVINCES.values():
        for c in p.cities:
            if c.name == name:
                return p, c
    raise KeyError(f"no sample data for city {name}")


def recommender_path_for(recommender: str) -> str:
    """The folder an upload of this recommending unit is filed under (outputs.md ``<recommender>``)."""
    if recommender in CENTRAL_ENTERPRISES or recommender.endswith(("集团有限公司", "股份有限公司")):
        return recommender
    if recommender.startswith(CORPS):
        return CORPS
    for city in PLAN_CITY_DEPARTMENTS:
        if recommender.startswith(city):
            return city
    for p in PROVINCES:
        if recommender.startswith(p):
            return p
    return recommender


# ---------------------------------------------------------------------------------------------------
# USCC (GB 32100-2015)

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_char(first17: str) -> str:
    s = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - s % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    return (
        len(code) == 18
        and code[2:8].isdigit()
        and all(c in USCC_CHARSET for c in code)
        and uscc_check_char(code[:17]) == code[17]
    )


def make_uscc(rng: random.Random, region_code: str, prefix: str = "91") -> str:
    """A well-formed USCC: ``prefix`` + region + GB 11714 body with its own check + GB 32100 check."""
    if rng.random() < 0.6:  # post-2015 codes issued directly as USCC: MA…
        body = "MA" + "".join(rng.choice(USCC_CHARSET) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    s = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS))
    c9 = 11 - s % 11
    org_check = "X" if c9 == 10 else "0" if c9 == 11 else str(c9)
    first17 = prefix + region_code + body + org_check
    return first17 + uscc_check_char(first17)


def break_uscc(code: str) -> str:
    """The same code with a wrong check character (USCC_INVALID)."""
    good = code[17]
    i = (USCC_CHARSET.index(good) + 7) % 31
    return code[:17] + USCC_CHARSET[i]


def with_uscc_prefix(code: str, prefix: str) -> str:
    """The code re-issued with another registration authority/category prefix, check char recomputed."""
    first17 = prefix + code[2:17]
    return first17 + uscc_check_char(first17)


def with_uscc_region(code: str, region_code: str) -> str:
    first17 = code[:2] + region_code + code[8:17]
    return first17 + uscc_check_char(first17)


# ---------------------------------------------------------------------------------------------------
# Word lists

BRAND_WORDS = (
    ("云启", "yunqi"), ("星联", "xinglian"), ("智汇", "zhihui"), ("数创", "shuchuang"), ("华信", "huaxin"),
    ("悦享", "yuexiang"), ("天枢", "tianshu"), ("领航", "linghang"), ("博远", "boyuan"), ("鸿途", "hongtu"),
    ("新域", "xinyu"), ("聚点", "judian"), ("易行", "yixing"), ("微澜", "weilan"), ("青禾", "qinghe"),
    ("锦程", "jincheng"), ("蓝鲸", "lanjing"), ("橙果", "chengguo"), ("乐途", "letu"), ("极光", "jiguang"),
    ("同创", "tongchuang"), ("优品", "youpin"), ("融达", "rongda"), ("九章", "jiuzhang"), ("飞象", "feixiang"),
    ("灵犀", "lingxi"), ("万象", "wanxiang"), ("和光", "heguang"), ("盛景", "shengjing"), ("云帆", "yunfan"),
)
COMPANY_SUFFIXES = (
    "信息科技有限公司", "网络科技有限公司", "数字科技股份有限公司", "科技有限公司", "电子商务有限公司",
    "信息技术股份有限公司", "互联网科技有限公司", "文化传媒有限公司",
)
SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"), ("赵", "zhao"),
    ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"), ("胡", "hu"), ("朱", "zhu"),
    ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"), ("马", "ma"), ("罗", "luo"),
)
GIVEN_NAMES = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("磊", "lei"), ("强", "qiang"),
    ("洋", "yang"), ("艳", "yan"), ("杰", "jie"), ("建华", "jianhua"), ("晓东", "xiaodong"), ("海燕", "haiyan"),
    ("志刚", "zhigang"), ("丽娟", "lijuan"), ("文博", "wenbo"), ("思远", "siyuan"), ("雨萱", "yuxuan"),
    ("子涵", "zihan"), ("明轩", "mingxuan"), ("立新", "lixin"), ("春梅", "chunmei"),
)
STREETS = (
    "科技大道", "创新路", "中山路", "人民路", "长江路", "软件园路", "星湖街", "金融街", "新华路", "学府路",
    "云谷路", "未来大道", "滨河路", "数字港路",
)
MALLS = ("万象城", "天街购物中心", "新天地", "来福士广场", "大悦城", "万达广场")
CONTACT_TITLES = ("项目经理", "市场部经理", "战略发展部总监", "副总经理", "总经理助理", "政府事务部经理")
EMAIL_DOMAINS = ("com", "com.cn", "cn", "net")
MAIN_BUSINESS = (
    "移动互联网应用开发与运营、数字内容服务、互联网信息服务",
    "电子商务平台运营、供应链管理服务、数字营销",
    "本地生活服务平台运营、即时配送服务、软件和信息技术服务",
    "智能终端销售与服务、5G应用体验、数字文化内容运营",
    "虚拟现实内容制作、沉浸式体验空间运营、文化创意设计",
    "互联网金融信息服务、大数据分析、云计算服务",
    "短视频与直播平台运营、网络文化经营、广告发布",
)
PLATFORM_THEMES = ("生活", "优选", "视频", "出行", "健康", "到家", "阅读", "钱包", "直播", "社区")
SCOPE_BY_THEME = {
    "生活": ("生活服务", "网络销售"), "优选": ("网络销售", "乡村振兴"), "视频": ("社交娱乐", "信息资讯"),
    "出行": ("生活服务",), "健康": ("生活服务", "信息资讯"), "到家": ("生活服务", "网络销售"),
    "阅读": ("信息资讯", "社交娱乐"), "钱包": ("金融服务", "生活服务"), "直播": ("社交娱乐", "网络销售", "乡村振兴"),
    "社区": ("社交娱乐", "信息资讯", "生活服务"),
}
OPINION = "经审核，该项目申报材料真实、完整，申报单位具备独立法人资格，项目符合申报条件，同意推荐。"


def _date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _person(rng: random.Random) -> tuple[str, str]:
    s, sp = rng.choice(SURNAMES)
    g, gp = rng.choice(GIVEN_NAMES)
    return s + g, sp + gp


def fold_text(text: str) -> str:
    """How the extractor normalises text (models.py): full-width ASCII -> half-width, spaces collapsed."""
    out = []
    for ch in text:
        o = ord(ch)
        if 0xFF01 <= o <= 0xFF5E:
            ch = chr(o - 0xFEE0)
        elif o == 0x3000:
            ch = " "
        out.append(ch)
    return " ".join("".join(out).split())


def _summary(rng: random.Random, direction: str, v: dict[str, Any]) -> str:
    def txt(key: str) -> str:
        x = v.get(key)
        return "" if is_blank(x) else str(x)

    def joined(key: str, n: int = 4) -> str:
        x = v.get(key)
        return "、".join(x[:n]) if isinstance(x, list) else ""

    name = txt("applicant_name") or "本单位"
    tech = joined("tech_means", 3)
    if direction == "platform":
        mau = v.get("mau_prev_avg")
        parts = [
            f"{txt('platform_name') or '该平台'}是{name}自主研发运营的综合性信息消费平台，",
            f"聚焦{joined('service_scopes')}等领域，" if joined("service_scopes") else "",
            f"月活跃用户规模达{mau // 10_000}万，" if isinstance(mau, int) else "",
            f"平台依托{tech}等技术，" if tech else "",
            "为用户提供个性化推荐、线上线下一体化服务和便捷安全的支付体验，",
            rng.choice([
                "带动中小商户数字化转型，有效促进了信息消费扩大和升级。",
                "持续丰富数字消费场景，助力县域商业和农产品上行。",
                "在提升消费便利度、保障消费者权益方面形成了可复制的经验。",
            ]),
        ]
    else:
        area, visitors = v.get("area_sqm"), v.get("annual_visitors")
        funcs = joined("functions")
        parts = [
            f"{txt('center_name') or '体验中心'}位于{txt('center_city') or '城市'}核心商业区，",
            f"总面积{area:g}平方米，" if isinstance(area, (int, float)) else "",
            f"集{funcs}于一体，" if funcs else "",
            f"综合运用{tech}等技术手段，" if tech else "",
            "打造沉浸式数字生活体验空间，",
            rng.choice([
                f"上年度接待消费者超过{visitors // 10000}万人次，" if isinstance(visitors, int) else "",
                "常态化开展智能终端体验和数字技能培训活动，",
            ]),
            rng.choice([
                "有效带动周边商圈信息消费增长。",
                "成为城市信息消费的新地标和示范窗口。",
                "为老年人等群体提供数字技能培训，助力弥合数字鸿沟。",
            ]),
        ]
    return fold_text("".join(parts))


def _company_name(rng: random.Random, city: City) -> tuple[str, str, str]:
    word, py = rng.choice(BRAND_WORDS)
    short = city.name.removesuffix("市")
    suffix = rng.choice(COMPANY_SUFFIXES)
    return f"{short}{word}{suffix}", word, py


def base_values(direction: str, seed: int, *, province: str | None = None, city: str | None = None,
                **overrides: Any) -> dict[str, Any]:
    """A realistic valid application for ``direction`` (``platform`` / ``experience_center``).

    Deterministic for ``seed``. ``province`` / ``city`` pin the registered address (default: drawn
    from the seed); the recommender is that province's industry and IT department. ``overrides``
    replace single fields after generation; only the summary is re-derived from the final values
    (the caller keeps everything else consistent, e.g. the cover and commitment names).
    """
    if direction not in ("platform", "experience_center"):
        raise ValueError(f"unknown direction {direction!r}")
    rng = random.Random(f"formintake-sample:{direction}:{seed}")
    if city:
        prov, c = find_city(city)
    else:
        prov = PROVINCES[province] if province else rng.choice(list(PROVINCES.values()))
        c = rng.choice(prov.cities)
    district = rng.choice(c.districts)
    place = prov.name + (c.name if c.name != prov.name else "") + district
    name, word, word_py = _company_name(rng, c)
    legal, _ = _person(rng)
    contact, contact_py = _person(rng)
    apply_date = _date(rng, dt.date(2023, 8, 1), dt.date(2023, 9, 1))
    employees = rng.randint(180, 12000)
    revenue = round(rng.uniform(8000, 900000), rng.choice((0, 1, 2)))
    total_inv = float(rng.randrange(2000, 60000, 50))
    v: dict[str, Any] = {
        "direction": direction,
        "project_name": "",  # below
        "applicant_name_cover": name,
        "recommender": prov.department,
        "apply_date": apply_date.isoformat(),
        "applicant_name": name,
        "uscc": make_uscc(rng, rng.choice((c.code, prov.code))),
        "registered_address": f"{place}{rng.choice(STREETS)}{rng.randint(1, 999)}号",
        "office_address": f"{place}{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.choice('ABCDE')}座{rng.randint(2, 28)}层",
        "postcode": c.postcode[:4] + f"{rng.randint(0, 99):02d}" if c.postcode[4:] == "00" else c.postcode,
        "entity_nature": rng.choices(("民营企业", "国有控股", "国有企业", "中外合资", "外资企业"), (70, 10, 8, 7, 5))[0],
        "founded_on": _date(rng, dt.date(2003, 1, 1), dt.date(2018, 12, 31)).isoformat(),
        "registered_capital_wan": float(rng.choice((1000, 2000, 5000, 8000, 10000, 20000, 50000, 12345.6))),
        "legal_representative": legal,
        "contact_name": contact,
        "contact_title": rng.choice(CONTACT_TITLES),
        "contact_phone": (
            _mobile(f"1{rng.choice('35789')}{rng.randint(0, 9)}", rng.randint(0, 99999999))
            if rng.random() < 0.7
            else _landline(c.area_code, f"{rng.randint(5, 8)}{rng.randint(0, 9_999_999):07d}")
        ),
        "contact_email": f"{contact_py}{rng.randint(1, 99)}@{word_py}{rng.choice(('tech', 'net', 'group', ''))}.{rng.choice(EMAIL_DOMAINS)}",
        "employees": employees,
        "rnd_staff": int(employees * rng.uniform(0.12, 0.45)),
        "revenue_prev_wan": float(revenue),
        "rnd_spend_prev_wan": round(revenue * rng.uniform(0.03, 0.12), 1),
        "main_business": rng.choice(MAIN_BUSINESS),
        "project_location": place,
        "start_date": "",
        "total_investment_wan": total_inv,
        "invested_wan": float(round(total_inv * rng.uniform(0.4, 1.0) / 10) * 10),
        "tech_means": [],
        "summary": "",
    }
    if v["invested_wan"] > total_inv:
        v["invested_wan"] = total_inv
    if direction == "platform":
        theme = rng.choice(PLATFORM_THEMES)
        platform = f"{word}{theme}"
        mau = rng.randint(101, 980) * 1_000_000
        v.update(
            project_name=f"{platform}数字生活服务平台项目",
            start_date=_date(rng, dt.date(2012, 1, 1), dt.date(2021, 6, 30)).isoformat(),
            tech_means=sorted(rng.sample(("人工智能", "大数据", "云计算", "5G", "区块链", "物联网"), rng.randint(2, 4)),
                              key=_option_index("tech_means")),
            platform_name=platform,
            mau_prev_avg=mau,
            mau_year=CAMPAIGN_YEAR - 1,
            registered_users=mau * rng.randint(2, 6) + rng.randint(0, 99) * 1_000_000,
            service_scopes=list(SCOPE_BY_THEME[theme]),
        )
        v["service_scopes"].sort(key=_option_index("service_scopes"))
    else:
        kind = rng.choices(("信息消费体验店", "信息消费体验街区", "信息消费体验商圈"), (60, 25, 15))[0]
        center_name = {
            "信息消费体验店": f"{word}{rng.choice(('5G+XR沉浸式体验店', '智慧生活体验馆', '数字生活体验中心'))}",
            "信息消费体验街区": f"{word}数字生活街区",
            "信息消费体验商圈": f"{c.name.removesuffix('市')}{district.removesuffix('区')}智慧商圈",
        }[kind]
        opened = _date(rng, dt.date(2019, 1, 1), dt.date(2022, 12, 31)).isoformat()
        area = float(rng.choice((rng.randrange(320, 3000, 10), rng.randrange(3000, 40000, 100), 856.5, 1288.8)))
        v.update(
            project_name=f"{center_name}建设项目",
            start_date=opened,
            tech_means=sorted(
                {"智能感知设施", "XR/虚拟现实", "5G"} | set(rng.sample(("大数据", "人工智能", "物联网", "千兆光网", "云计算"), 2)),
                key=_option_index("tech_means"),
            ),
            center_name=center_name,
            center_kind=kind,
            center_address=f"{place}{rng.choice(STREETS)}{rng.randint(1, 999)}号{rng.choice(MALLS)}{rng.choice(('一', '二', '三'))}层",
            center_city=c.name,
            area_sqm=area,
            functions=["展示", "体验", "销售", "培训"],
            opened_on=opened,
            annual_visitors=rng.randint(30, 400) * 10000 + rng.randint(0, 9999),
        )
    v.update(
        commitment_signatory=legal,
        commitment_date=apply_date.isoformat(),
        applicant_name_commitment=name,
        recommender_opinion=fold_text(OPINION),
        recommender_date=min(apply_date + dt.timedelta(days=rng.randint(1, 6)), DEADLINE).isoformat(),
    )
    v.update(overrides)
    if "summary" not in overrides:  # written last, from the final values
        v["summary"] = _summary(rng, direction, v)
    return v


def _option_index(key: str):
    opts = BY_KEY[key].options
    return opts.index


def is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or isinstance(value, Raw)


def truth_of(values: dict[str, Any]) -> dict[str, Any]:
    """The normalised value of every field that has a value (blank / placeholder / malformed omitted)."""
    order = {f.key: i for i, f in enumerate(FIELDS)}
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in values.items() if k in BY_KEY and not is_blank(v)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 999)))


def check_values(values: dict[str, Any]) -> list[str]:
    """Problems that would make ``values`` an invalid application (empty for every base_values result)."""
    problems: list[str] = []
    d = values.get("direction")
    for f in required_for(d):
        if is_blank(values.get(f.key)):
            problems.append(f"missing {f.key}")
    if not uscc_is_valid(values.get("uscc", "")):
        problems.append("uscc check char")
    prov = next((p for p in PROVINCES.values() if values.get("registered_address", "").startswith(p.name)), None)
    if prov is None or values["uscc"][2:4] != prov.code[:2]:
        problems.append("uscc region / address province")
    for k in ("apply_date", "commitment_date", "recommender_date"):
        if not (NOTICE_DATE.isoformat() <= values.get(k, "") <= DEADLINE.isoformat()):
            problems.append(f"{k} outside notice..deadline")
    for k in ("founded_on", "start_date", "opened_on"):
        if k in values and values[k] > values["apply_date"]:
            problems.append(f"{k} after apply_date")
    if values.get("rnd_staff", 0) > values.get("employees", 0):
        problems.append("rnd_staff > employees")
    if values.get("invested_wan", 0) > values.get("total_investment_wan", 0):
        problems.append("invested > total")
    if d == "platform":
        if values["mau_prev_avg"] < 100_000_000 or values["mau_year"] != CAMPAIGN_YEAR - 1:
            problems.append("mau")
        if values.get("registered_users", 10**12) < values["mau_prev_avg"]:
            problems.append("registered_users < mau")
    if d == "experience_center":
        if values["area_sqm"] < 300 or len(values["functions"]) != 4 or not values["tech_means"]:
            problems.append("center eligibility")
    if not 50 <= len(values.get("summary", "")) <= 1000:
        problems.append("summary length")
    return problems
