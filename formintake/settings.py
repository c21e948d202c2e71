"""Every ``FORMINTAKE_*`` setting in one pydantic-settings model (README, *Configuration*; outputs.md).

Read from the environment, else a ``.env`` file in the working directory (the environment wins);
nothing here writes ``os.environ``. :func:`load_settings` reads them again only when a ``FORMINTAKE_*``
variable or the ``.env`` file changed (the demo and the tests point a process at another S3 server by
changing the environment between commands), so it is cheap enough to call per document; the values are
passed down from there (:class:`S3Settings` to the storage layer). No module reads ``os.environ`` for a
``FORMINTAKE_*`` setting itself (tests/test_settings.py greps for it).

Adding a setting is one line in :class:`Settings`: ``name: type = default`` is read from
``FORMINTAKE_NAME``.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A bad or missing setting or campaign file: the CLI exits 2 with the reason."""


class S3Settings(BaseModel):
    """What the storage layer needs to reach S3 (credentials never shown in a repr)."""

    endpoint: str | None
    access_key: str | None = Field(default=None, repr=False)
    secret_key: str | None = Field(default=None, repr=False)
    secure: bool = False
    uploads_bucket: str = "uploads"
    results_bucket: str = "results"
    results_prefix: str = ""  # results may live under a prefix of a bucket (e.g. the uploads bucket)
    public_endpoint: str | None = None  # host:port (or URL) people use to open presigned report links
    region: str = "us-east-1"


class Settings(BaseSettings):
    # frozen: one instance is shared by every caller until the inputs change (load_settings)
    model_config = SettingsConfigDict(env_prefix="FORMINTAKE_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False, frozen=True)

    s3_endpoint: str | None = None  # host:port or URL of the S3 server; unset: no S3 (check works on folders)
    s3_access_key: str | None = Field(default=None, repr=False)
    s3_secret_key: str | None = Field(default=None, repr=False)
    s3_secure: bool = False  # https
    s3_region: str = "us-east-1"
    s3_public_endpoint: str | None = None  # host people use to open presigned report links
    uploads_bucket: str = "uploads"
    results_bucket: str = "results"
    results_prefix: str = ""  # results under a prefix of the results bucket
    campaign: str = "2023"  # the default --campaign
    campaign_file: str | None = None  # a campaign TOML used instead of the packaged <campaign>.toml
    log_level: str = "WARNING"  # the CLI's console log level
    dask_address: str | None = None  # a Dask scheduler the flow's extraction batches run on (unset: local pool)
    log_file: str | None = None  # the log file (unset: ~/.formintake/formintake.log)
    # extraction
    isolate: bool = True  # each document in a worker process with a hard time limit; 0: in this process
    workers: int | None = Field(default=None, ge=1)  # extraction worker processes (unset: one per core)
    # LibreOffice for .doc/.wps/.rtf: a path or command (unset or empty: soffice on PATH); "none": no converter
    soffice: str | None = None
    ocr_threads: int | None = Field(default=None, ge=0)  # threads per OCR engine (unset or 0: extractors/ocr.py)
    # not for a deployment (deploy=False: tests/test_deploy.py leaves them out of compose and .env.example)
    # "tesseract": the OCR benchmark's comparison engine (bench/ocr.py)
    ocr_engine: str | None = Field(default=None, json_schema_extra={"deploy": False})
    # the SeaweedFS `weed` executable of the demo's and the tests' local S3 server (unset: next to
    # Python, else on PATH)
    weed: str | None = Field(default=None, json_schema_extra={"deploy": False})

    @field_validator("s3_endpoint", "s3_access_key", "s3_secret_key", "s3_public_endpoint", "campaign_file",
                     "dask_address", "log_file", "soffice", "ocr_engine", "weed", "workers", "ocr_threads",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, v):
        return (v.strip() or None) if isinstance(v, str) else v

    @field_validator("isolate", mode="before")
    @classmethod
    def _unset_isolates(cls, v):  # set but empty: the default
        return True if v is None or (isinstance(v, str) and not v.strip()) else v

    @field_validator("results_prefix")
    @classmethod
    def _no_slashes(cls, v: str) -> str:
        return v.strip("/")

    @property
    def s3(self) -> S3Settings:
        return S3Settings(endpoint=self.s3_endpoint, access_key=self.s3_access_key, secret_key=self.s3_secret_key,
                          secure=self.s3_secure, uploads_bucket=self.uploads_bucket, results_bucket=self.results_bucket,
                          results_prefix=self.results_prefix, public_endpoint=self.s3_public_endpoint,
                          region=self.s3_region)


_cache: tuple[tuple, Settings] | None = None


def _inputs() -> tuple:
    """What the settings are read from: the FORMINTAKE_* variables and the .env file (by its identity)."""
    env = tuple(sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith("FORMINTAKE_")))
    try:
        st = os.stat(".env")
        dotenv = (os.path.abspath(".env"), st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        dotenv = (os.path.abspath("."), None)
    return env, dotenv


def load_settings() -> Settings:
    """The settings in force: read again only when the FORMINTAKE_* environment or the .env file changed
    (cheap to call per document; a test or the demo that repoints the environment is seen at once)."""
    global _cache
    key = _inputs()
    cached = _cache
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "FORMINTAKE_" + str(err["loc"][0]).upper() if err.get("loc") else "a FORMINTAKE_ setting"
        raise ConfigError(f"bad {name}: {err['msg']}") from None
    _cache = (key, settings)
    return settings
