"""Wall time per pipeline step, summed over a run: plan, extract, link, batch rules, records, reports.

The pipeline marks its steps; the scale benchmark (``./run bench --scale``) reads the sums. Cheap
enough to stay on (two ``perf_counter`` calls per step)::

    @timed("plan")
    def plan_run(...): ...

    lap = Laps()          # inside a function with several steps
    ...; lap("link")      # time since the previous lap (or since Laps()) goes to "link"
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

_lock = threading.Lock()
_totals: dict[str, float] = {}


def add(name: str, seconds: float) -> None:
    with _lock:
        _totals[name] = _totals.get(name, 0.0) + seconds


def take() -> dict[str, float]:
    """The sums since the last take (seconds), and start again from zero."""
    with _lock:
        out = dict(_totals)
        _totals.clear()
    return out


def timed(name: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                add(name, time.perf_counter() - t0)
        return wrapper  # type: ignore[return-value]
    return deco


class Laps:
    def __init__(self) -> None:
        self._t = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        add(name, now - self._t)
        self._t = now
