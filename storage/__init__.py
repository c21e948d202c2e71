"""Object storage: the ObjectStore interface, S3 (minio SDK) and local-folder implementations."""

from formintake.storage.base import ObjectStore, ObjectVersion
from formintake.storage.local import LocalStore
from formintake.storage.s3 import S3Store, from_settings, is_transient, make_client, retrying

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
