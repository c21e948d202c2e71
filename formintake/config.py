"""Campaign configuration (one TOML file per round) and runtime settings (from the environment)."""

from __future__ import annotations

import csv
import datetime as dt
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from formintake.settings import ConfigError, S3Settings, load_settings  # noqa: F401  (ConfigError, S3Settings re-exported)
from formintake.text import city_key

CAMPAIGN_DIR = Path(__file__).parent / "campaigns"


class DemoCity(BaseModel):
    city: str
    province: str
    kind: str  # 直辖市 / 计划单列市 / 副省级城市 / 地级市
    batch_year: str | None = None
    designation: str | None = None
    confidence: str | None = None
    source: str | None = None

    @property
    def files_itself(self) -> bool:
        """直辖市 and 计划单列市 file their extra recommendations themselves (四（二）)."""
        return self.kind in ("直辖市", "计划单列市")


class Thresholds(BaseModel):
    mau_min: int = 100_000_000
    area_min_sqm: float = 300
    summary_min_chars: int = 50
    summary_max_chars: int = 1000
    file_size_limit_mb: float = 50
    doc_timeout_s: float = 60
    ocr_page_timeout_s: float = 60
    near_same_name_ratio: float = 0.85

    @property
    def file_size_limit_bytes(self) -> int:
        """The per-upload size limit in bytes (``file_size_limit_mb`` MiB)."""
        return int(self.file_size_limit_mb * 2**20)


class Quotas(BaseModel):
    center_per_unit: int = 5
    center_extra_per_demo_city: int = 2
    # PLATFORM_QUOTA_NONE (info) goes on a unit's platform applications once it files more than this many:
    # the platform direction has no quota, and the report says so where a reader might expect one.
    platform_note_above: int = 5


class Recommenders(BaseModel):
    department_suffixes: list[str]
    provinces: list[str]
    municipalities: list[str]
    plan_cities: dict[str, str]
    corps: list[str]
    corps_region: str
    central_enterprises: list[str]
    central_enterprise_aliases: dict[str, str] = Field(default_factory=dict)
    corps_aliases: list[str] = Field(default_factory=list)  # short names of 新疆生产建设兵团
    # what a 示范城市额外推荐 cell may hold when the application is not an extra (treated as empty)
    no_demo_city_values: list[str] = Field(default_factory=list)


class Waivers(BaseModel):
    """Which error codes a reviewer may waive (every warning may be waived; intake errors and info never)."""

    waivable_errors: list[str] = Field(
        default_factory=lambda: [
            "APPLICANT_NAME_MISMATCH",
            "RECOMMENDER_PATH_MISMATCH",
            "RECOMMENDER_UNKNOWN",
            "CITY_EXTRA_NOT_DEMO_CITY",
            "DUPLICATE_APPLICATION",
        ]
    )


DEFAULT_TIMEZONE = "Asia/Shanghai"


class Campaign(BaseModel):
    id: str
    name: str
    notice_number: str
    notice_date: dt.date
    campaign_year: int
    deadline: dt.date
    timezone: str = DEFAULT_TIMEZONE
    timezone_label: str | None = None  # how reviewers name the time zone, e.g. 北京时间 (default: its IANA name)
    check_upload_time: bool = False
    thresholds: Thresholds
    quotas: Quotas
    recommenders: Recommenders
    waivers: Waivers = Field(default_factory=Waivers)
    demo_cities: list[DemoCity]
    demo_cities_source: str
    config_path: str

    @property
    def timezone_zh(self) -> str:
        """The campaign's time zone as reports and messages name it."""
        return self.timezone_label or self.timezone

    def demo_city(self, name: str | None) -> DemoCity | None:
        if not name:
            return None
        k = city_key(name)
        for c in self.demo_cities:
            if city_key(c.city) == k:
                return c
        return None


def _load_cities(path: Path) -> list[DemoCity]:
    seen: dict[str, DemoCity] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            city = (row.get("city") or "").strip()
            if not city:
                continue
            # one city may appear in several batches (昆明市 2020 and 2021): keep the first row
            seen.setdefault(
                city,
                DemoCity(
                    city=city,
                    province=(row.get("province") or "").strip(),
                    kind=(row.get("kind") or "").strip(),
                    batch_year=row.get("batch_year"),
                    designation=row.get("designation"),
                    confidence=row.get("confidence"),
                    source=row.get("source"),
                ),
            )
    return list(seen.values())


def load_campaign_file(path: str | Path) -> Campaign:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"campaign configuration not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        cities_path = path.parent / data["reference"]["demo_cities"]
        c = data["campaign"]
        return Campaign(
            id=str(c["id"]),
            name=c["name"],
            notice_number=c["notice_number"],
            notice_date=c["notice_date"],
            campaign_year=c["campaign_year"],
            deadline=c["deadline"],
            timezone=c.get("timezone", DEFAULT_TIMEZONE),
            timezone_label=c.get("timezone_label"),
            check_upload_time=c.get("check_upload_time", False),
            thresholds=Thresholds(**data.get("thresholds", {})),
            quotas=Quotas(**data.get("quotas", {})),
            recommenders=Recommenders(**data["recommenders"]),
            waivers=Waivers(**data.get("waivers", {})),
            demo_cities=_load_cities(cities_path),
            demo_cities_source=str(cities_path.name),
            config_path=str(path),
        )
    except ConfigError:
        raise
    except Exception as exc:  # a bad file is a configuration error, not a crash
        raise ConfigError(f"bad campaign configuration {path}: {exc}") from exc


def load_campaign(campaign_id: str = "2023") -> Campaign:
    """The campaign file: ``$FORMINTAKE_CAMPAIGN_FILE`` if set, else the packaged ``<id>.toml``.
    (Cached per id *and* override: setting the variable later in the process is honoured.)"""
    return _load_campaign(str(campaign_id), load_settings().campaign_file)


@lru_cache(maxsize=8)
def _load_campaign(campaign_id: str, override: str | None) -> Campaign:
    if override:
        camp = load_campaign_file(override)
        if camp.id != str(campaign_id):
            raise ConfigError(f"FORMINTAKE_CAMPAIGN_FILE is campaign {camp.id}, not {campaign_id}")
        return camp
    path = CAMPAIGN_DIR / f"{campaign_id}.toml"
    if not path.is_file():
        raise ConfigError(f"no campaign configuration for '{campaign_id}' (looked for {path.name})")
    return load_campaign_file(path)


def s3_settings() -> S3Settings:
    return load_settings().s3


def dask_address() -> str | None:
    """FORMINTAKE_DASK_ADDRESS: the Dask scheduler the flow's extraction runs on (unset: the local pool)."""
    return load_settings().dask_address


def default_campaign_id() -> str:
    return load_settings().campaign
