"""Routing rules on one application: was it filed under the unit that stamped it, and does that unit
cover where the applicant (or the experience center) is? (rules.md, *Consistency inside one application*)

Where is a place? An address or a city is placed by its province prefix, else by the name of the city it
starts with. City names come from the GB/T 2260 division table shipped with python-stdnum
(``stdnum.numdb.get("cn/loc")``, a pinned dependency): prefecture-level divisions and county-level cities. A name
found in two provinces is not used, and a place that cannot be told is not judged (no finding).
"""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import numdb

from formintake.models import ExtractedForm
from formintake.validators.eligibility import address_province
from formintake.validators.recommenders import Unit
from formintake.validators.registry import RuleContext, rule
from formintake.text import PROVINCE_BY_CODE, PROVINCE_SHORT, city_key, fold

_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
_LOC_NAME = re.compile(r"^(?:\[\d*-(\d*)\])?(.+)$")  # [1988-]海口市: current; [-1986]海口市: former
_CITY_ENDINGS = ("市", "州", "盟", "地区")


@lru_cache(maxsize=1)
def city_provinces() -> dict[str, str | None]:
    """City name as GB/T 2260 writes it (``无锡市``, ``延边朝鲜族自治州``) -> its province (None: ambiguous).

    Prefecture-level divisions and county-level cities; a current name wins over a former one
    (``[-1988]海口市`` of 广东 does not make 海口 ambiguous).
    """
    current: dict[str, str | None] = {}
    former: dict[str, str | None] = {}
    for _, low, _, _, children in numdb.get("cn/loc").prefixes:
        province = PROVINCE_BY_CODE.get(low)  # None outside the mainland (71, 81, 82)
        for _, code, high, props, _ in children:
            if province is None or code != high:
                continue
            for part in props.get("county", "").split(","):
                ended, name = _LOC_NAME.match(part).groups()  # type: ignore[union-attr]
                prefecture = code.endswith("00") and name.endswith(_CITY_ENDINGS)
                if not (prefecture or name.endswith("市")) or name in _MUNICIPALITIES:
                    continue
                table = former if ended else current
                table[name] = province if table.get(name, province) == province else None
    return {**{k: v for k, v in former.items() if k not in current}, **current}


@lru_cache(maxsize=1)
def _city_keys() -> dict[str, str | None]:
    """``无锡`` / ``无锡市`` -> province, for a field that holds just a city name."""
    out: dict[str, str | None] = {}
    for name, prov in city_provinces().items():
        k = city_key(name)
        out[k] = prov if out.get(k, prov) == prov else None
    return out


def _city_at_start(text: str) -> str | None:
    """The longest GB/T 2260 city name ``text`` starts with (``苏州市工业园区…`` -> ``苏州市``)."""
    best = None
    for name in city_provinces():
        if text.startswith(name) and (best is None or len(name) > len(best)):
            best = name
    return best


def locate(*texts: str | None) -> tuple[str | None, str | None]:
    """(province, city key) of a place written as a city, an address, or both; each None if not told.

    Earlier texts win: ``locate(center_city, center_address)``. A 直辖市 is its own city.
    """
    province = city = None
    for raw in texts:
        t = fold(raw)
        if not t:
            continue
        p = next((full for full in PROVINCE_SHORT.values() if t.startswith(full)), None)
        rest = t[len(p):] if p else t
        if p in _MUNICIPALITIES:
            c: str | None = city_key(p)
        elif city_key(rest) in _city_keys():
            c = city_key(rest)
            p = p or _city_keys()[c]
        else:
            name = _city_at_start(rest)
            c = city_key(name) if name else None
            p = p or (city_provinces()[name] if name else None) or address_province(raw)
        province = province or p
        city = city or c
    return province, city


def outside(unit: Unit, province: str | None, city: str | None) -> bool:
    """True when the place is known to lie outside what the unit covers (a central enterprise: never)."""
    if not unit.is_regional:
        return False
    if unit.is_city and city is not None:
        return city != city_key(unit.key)
    return province is not None and province != unit.region


def _scope_zh(unit: Unit) -> str:
    return unit.key if unit.is_city or unit.kind == "corps" else unit.region or unit.key


@rule("RECOMMENDER_PATH_MISMATCH")
def check_path_mismatch(form: ExtractedForm, ctx: RuleContext):
    """The unit stamped on the form must be the unit the upload was filed under.

    A demonstration city's extra (non-直辖市/计划单列市) stamped by the city but filed under its province is
    the route 四（二） prescribes, not a mismatch. A name that resolves to no unit is left to
    RECOMMENDER_UNKNOWN (batch), and an empty one to FIELD_MISSING.
    """
    written = form.value("recommender")
    units = ctx.recommending(form)
    form_unit, path_unit = units.written, units.folder
    if form_unit is None or path_unit is None or form_unit.key == path_unit.key:
        return
    if form_unit.kind == "demo_city" and path_unit.kind == "province" and path_unit.region == form_unit.region:
        return
    yield ctx.finding(
        "RECOMMENDER_PATH_MISMATCH",
        field="recommender",
        value=written,
        expected=ctx.text("RECOMMENDER_PATH_MISMATCH", "expected", folder_unit=path_unit.key, folder=ctx.recommender_path),
        message=ctx.text("RECOMMENDER_PATH_MISMATCH", "message", written=form_unit.key, folder=ctx.recommender_path,
                         folder_unit=path_unit.key),
        message_en=ctx.text("RECOMMENDER_PATH_MISMATCH", "message_en", written=form_unit.key, folder_unit=path_unit.key),
        hint=ctx.text("RECOMMENDER_PATH_MISMATCH", "hint"),
        evidence=form.evidence("recommender"),
    )


@rule("RECOMMENDER_REGION_MISMATCH")
def check_region_mismatch(form: ExtractedForm, ctx: RuleContext):
    """A regional unit recommends projects of its own region (本地区): the applicant's registered address,
    or for an experience center the center's city (else its address). 计划单列市 and demonstration cities
    cover their city only; 兵团 covers 新疆. Central enterprises (本集团) are exempt. The unit is the one
    written in the form, else the folder's."""
    units = ctx.recommending(form)
    unit = units.written or units.folder
    if unit is None or not unit.is_regional or form.direction is None:
        return
    keys = ("center_city", "center_address") if form.direction == "experience_center" else ("registered_address",)
    texts = [form.value(k) for k in keys]
    province, city = locate(*texts)
    if not outside(unit, province, city):
        return
    key = next((k for k, t in zip(keys, texts) if t), keys[0])
    what = ctx.text("RECOMMENDER_REGION_MISMATCH", "center.what" if form.direction == "experience_center"
                    else "applicant.what")
    yield ctx.finding(
        "RECOMMENDER_REGION_MISMATCH",
        field=key,
        value=form.value(key),
        expected=ctx.text("RECOMMENDER_REGION_MISMATCH", "expected", scope=_scope_zh(unit), unit=unit.key),
        message=ctx.text("RECOMMENDER_REGION_MISMATCH", "message", unit=unit.key, unit_kind=unit.zh_kind, what=what,
                         place=form.value(key)),
        message_en=ctx.text("RECOMMENDER_REGION_MISMATCH", "message_en", unit=unit.key, scope=_scope_zh(unit), field=key),
        hint=ctx.text("RECOMMENDER_REGION_MISMATCH", "hint"),
        evidence=form.evidence(key),
    )
