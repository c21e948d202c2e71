"""Object storage: the ObjectStore interface, S3 (minio SDK) and local-folder implementations.

The implementations are imported when first named here (PEP 562): a process that only needs
``formintake.storage.base`` (an extraction worker, through the models) never imports the minio SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

from formintake.storage.base import ObjectStore, ObjectVersion

_WHERE = {"LocalStore": "local", "S3Store": "s3", "from_settings": "s3", "is_transient": "s3", "make_client": "s3",
          "retrying": "s3"}

__all__ = [
    "LocalStore",
    "ObjectStore",
    "ObjectVersion",
    "S3Store",
    "from_settings",
    "is_transient",
    "make_client",
    "retrying",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"formintake.storage.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
