"""Run ids and timestamps (UTC)."""

from __future__ import annotations

import datetime as dt


def now_iso(precise: bool = False) -> str:
    t = dt.datetime.now(dt.timezone.utc)
    return (t if precise else t.replace(microsecond=0)).isoformat()


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")[:-4] + "Z"
