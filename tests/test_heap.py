"""formintake.heap: the flow's process caps glibc's malloc arenas and hands free pages back."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# eight threads allocate at once (each gets an arena of its own unless capped), then glibc's
# malloc_stats() prints one "Arena N:" block per arena to stderr
_SCRIPT = """
import ctypes, sys, threading
from formintake import heap
print(heap.limit_arenas() if sys.argv[1] == "limit" else None)
start, done = threading.Barrier(8), threading.Barrier(8)
def work():
    start.wait()
    held = [bytearray(4096) for _ in range(200)]
    done.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(heap.trim())
ctypes.CDLL("libc.so.6").malloc_stats()
"""

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                           reason="glibc only")


def _arenas(mode: str, **env) -> tuple[list[str], int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, env=environ,
                          timeout=60, check=True)
    return proc.stdout.split(), proc.stderr.count("Arena ")


@glibc
def test_threads_share_two_arenas_once_limited():
    said, arenas = _arenas("limit")
    assert said[0] == "True" and arenas <= 2
    said, arenas = _arenas("none")  # the same threads without the limit: an arena each
    assert arenas > 4


@glibc
def test_an_arena_limit_from_the_environment_wins():
    said, arenas = _arenas("limit", MALLOC_ARENA_MAX="3")
    assert said[0] == "False" and arenas <= 3
