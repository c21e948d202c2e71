"""Recommending units (推荐单位, notice 四（一）): resolve a name as written to one canonical unit.

A unit is one of: a province-level region's industry and IT department (31), a 计划单列市, 新疆生产建设兵团,
a 中央企业 group company, or a 信息消费示范城市's department (only for its extra recommendations, 四（二）).
Every list comes from the campaign configuration (``[recommenders]`` and the demonstration-city list).

The same resolution serves the name stamped in the form (``推荐单位（盖章）``) and the folder an upload was
filed under (``<campaign>/<recommender>/…``), so ``江苏``, ``江苏省``, ``江苏省工业和信息化厅（盖章）`` and
``江 苏 省 工业和信息化厅`` are all the unit ``江苏省``.

Deliberately strict: a name that is none of the above resolves to ``None`` (RECOMMENDER_UNKNOWN), e.g. a
non-demonstration city's bureau (``苏州市工业和信息化局``), another department of a province
(``江苏省发展和改革委员会``), or a central enterprise's provincial subsidiary (``中国移动通信集团江苏有限公司``).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import Literal

from formintake.config import Campaign
from formintake.text import PROVINCE_SHORT, SEAL_WORD, city_key, fold, name_key, strip_seal

UnitKind = Literal["province", "municipality", "plan_city", "corps", "central_enterprise", "demo_city"]

KIND_ZH: dict[str, str] = {
    "province": "省（自治区）",
    "municipality": "直辖市",
    "plan_city": "计划单列市",
    "corps": "新疆生产建设兵团",
    "central_enterprise": "中央企业",
    "demo_city": "信息消费示范城市",
}

# a label written before the name, and a seal note after it: 推荐单位（盖章）：… / …（盖章） / …（公章）
_LABEL = re.compile(rf"^推荐单位(\({SEAL_WORD}\))?(名称)?[:：]?")
_TRAILING_PUNCT = re.compile(r"[。.,，;；:：]+$")


@dataclass(frozen=True)
class Unit:
    """One recommending unit. ``key`` is what reports and paths use (``江苏省``, ``深圳市``, …)."""

    key: str
    kind: UnitKind
    region: str | None  # the province-level region it covers; None for a central enterprise

    @property
    def zh_kind(self) -> str:
        return KIND_ZH[self.kind]

    @property
    def is_regional(self) -> bool:
        return self.kind != "central_enterprise"

    @property
    def is_city(self) -> bool:
        """A 计划单列市 or a demonstration city: covers its own city only, not its whole province."""
        return self.kind in ("plan_city", "demo_city")


def clean_unit_name(text: str | None) -> str:
    """Fold (spaces, full-width, brackets) and drop a ``推荐单位：`` label and a ``（盖章）`` note."""
    t = fold(text)
    for _ in range(2):  # “…（盖章）。” and “…盖章（公章）” both reduce
        t = _TRAILING_PUNCT.sub("", t)
        t = strip_seal(t)
    return _LABEL.sub("", t)


class _Index:
    """The campaign's units, looked up by normalised name. Built once per campaign object."""

    def __init__(self, campaign: Campaign) -> None:
        rc = campaign.recommenders
        self.campaign = campaign
        self.suffixes = sorted({fold(s) for s in rc.department_suffixes}, key=len, reverse=True)
        municipalities = set(rc.municipalities)
        self.regions: dict[str, Unit] = {}  # folded region name (full or short) -> unit
        for p in rc.provinces:
            u = Unit(p, "municipality" if p in municipalities else "province", p)
            self.regions[fold(p)] = u
        for short, full in PROVINCE_SHORT.items():
            if fold(full) in self.regions:
                self.regions.setdefault(fold(short), self.regions[fold(full)])
        for c in rc.corps:
            corps = Unit(c, "corps", rc.corps_region)
            for name in (c, *rc.corps_aliases):
                self.regions[fold(name)] = corps
        self.plan_cities = {city_key(c): Unit(c, "plan_city", p) for c, p in rc.plan_cities.items()}
        self.enterprises: dict[str, Unit] = {}
        for name in rc.central_enterprises:
            self.enterprises[name_key(name)] = Unit(name, "central_enterprise", None)
        for alias, name in rc.central_enterprise_aliases.items():
            self.enterprises.setdefault(name_key(alias), Unit(name, "central_enterprise", None))

    def strip_suffix(self, t: str) -> str:
        for s in self.suffixes:
            if t.endswith(s) and len(t) > len(s):
                return t[: -len(s)]
        return t

    def city_unit(self, name: str) -> Unit | None:
        """A 计划单列市 or a demonstration city by name (``深圳``, ``深圳市``, ``广东省深圳市``)."""
        unit = self.plan_cities.get(city_key(name))
        if unit is None:
            dc = self.campaign.demo_city(name)
            if dc is None:
                return None
            unit = Unit(dc.city, "demo_city", dc.province)
        written = next((p for p in PROVINCE_SHORT.values() if name.startswith(p) and name != p), None)
        if written is not None and written != unit.region:
            return None  # 江苏省深圳市 is no unit
        return unit

    def resolve(self, text: str | None) -> Unit | None:
        t = clean_unit_name(text)
        if not t:
            return None
        ent = self.enterprises.get(name_key(t))
        if ent is not None:
            return ent
        region = self.strip_suffix(t)
        if region in self.regions:
            return self.regions[region]
        return self.city_unit(region)


# Indexes are cached by the campaign's content, not by the campaign object: every extraction job
# brings its own unpickled Campaign, and an index per object (~95 KB) was never freed (a worker grew by
# one per document: 554 MB at 10,000 forms). A campaign object maps to its index while it lives.
_BY_CONTENT: dict[str, _Index] = {}
_BY_OBJECT: dict[int, tuple[weakref.ref, _Index]] = {}
_MAX_CONTENTS = 8


def _index(campaign: Campaign) -> _Index:
    hit = _BY_OBJECT.get(id(campaign))
    if hit is not None and hit[0]() is campaign:
        return hit[1]
    content = campaign.model_dump_json(include={"recommenders", "demo_cities"})
    idx = _BY_CONTENT.get(content)
    if idx is None:
        while len(_BY_CONTENT) >= _MAX_CONTENTS:
            _BY_CONTENT.pop(next(iter(_BY_CONTENT)))
        idx = _BY_CONTENT[content] = _Index(campaign)
    key = id(campaign)

    def forget(ref: weakref.ref, key: int = key) -> None:
        if _BY_OBJECT.get(key, (None,))[0] is ref:
            del _BY_OBJECT[key]

    _BY_OBJECT[key] = (weakref.ref(campaign, forget), idx)
    return idx


def resolve_recommender(text: str | None, campaign: Campaign) -> Unit | None:
    """The recommending unit a name (as written in a form, or a folder name) stands for; None if unknown."""
    return _index(campaign).resolve(text)


@dataclass(frozen=True)
class Recommending:
    """Who recommends one upload: the unit of the folder it was filed under and the unit written (stamped)
    in the form, each resolved once."""

    folder: Unit | None
    written: Unit | None

    @property
    def filing(self) -> Unit | None:
        """The unit the application counts under: the folder is who submitted it, else the form's unit
        (``Record.recommender_unit``)."""
        return self.folder or self.written


def recommending(folder: str | None, written: str | None, campaign: Campaign) -> Recommending:
    return Recommending(resolve_recommender(folder, campaign), resolve_recommender(written, campaign))
