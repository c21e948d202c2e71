"""glibc's allocator in the flow's process: fewer arenas, free pages handed back between steps.

The flow's process runs its S3 reads and writes on threads (process_versions' readers and writers,
put_many, Prefect's own), and glibc gives threads arenas of their own (up to eight per core): memory a
thread freed stays in its arena, where the main thread's later steps (link, judge, publish) cannot use it,
so the process's peak is the sum of every arena's high-water mark. :func:`limit_arenas` caps them at
:data:`ARENA_MAX` (glibc's ``M_ARENA_MAX``; the ``MALLOC_ARENA_MAX`` environment variable, when set, is
glibc's own and wins), :func:`trim` returns every arena's free pages to the system (``malloc_trim``).
Both do nothing where the C library is not glibc. decisions.md, "The flow's memory".
"""

from __future__ import annotations

import ctypes
import os
import sys

ARENA_MAX = 2
_M_ARENA_MAX = -8  # glibc malloc.h

_libc: ctypes.CDLL | None | bool = False  # False: not looked up yet


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is False:
        _libc = None
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                libc.mallopt, libc.malloc_trim  # glibc's (musl has neither)
                _libc = libc
            except (OSError, AttributeError):
                pass
    return _libc or None


def limit_arenas(n: int = ARENA_MAX) -> bool:
    """At most ``n`` malloc arenas from now on (threads started later share them), unless the environment
    sets MALLOC_ARENA_MAX. Whether the limit was set here."""
    libc = _glibc()
    if libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, n))


def trim() -> bool:
    """Hand the free pages of every arena back to the system; whether any were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
