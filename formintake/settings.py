"""Every ``FORMINTAKE_*`` setting in one pydantic-settings model (README, *Configuration*; outputs.md).

Read from the environment, else a ``.env`` file in the working directory (the environment wins);
nothing here writes ``os.environ``. :func:`load_settings` reads them once per command or Prefect task
(the demo and the tests point a process at another S3 server by changing the environment between
commands, so the result is not cached for the process's lifetime) and the values are passed down from
there (:class:`S3Settings` to the storage layer).

Adding a setting is one line in :class:`Settings`: ``name: type = default`` is read from
``FORMINTAKE_NAME``.
"""

from __future__ import annotations

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
    model_config = SettingsConfigDict(env_prefix="FORMINTAKE_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False)

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

    @field_validator("s3_endpoint", "s3_access_key", "s3_secret_key", "s3_public_endpoint", "campaign_file",
                     "dask_address", mode="before")
    @classmethod
    def _empty_is_unset(cls, v):
        return (v.strip() or None) if isinstance(v, str) else v

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


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "FORMINTAKE_" + str(err["loc"][0]).upper() if err.get("loc") else "a FORMINTAKE_ setting"
        raise ConfigError(f"bad {name}: {err['msg']}") from None
