"""Extraction in worker processes, with a hard per-document time limit (FILE_TIMEOUT).

A parser that hangs inside one call (a pathological PDF, an enormous docx part) cannot be stopped from
its own thread; a worker process can be killed. Workers also give the pipeline both cores, and pdfium
is not thread-safe anyway, so processes are the way to parallelise it.

    with IsolatedExtractor(workers=2) as ex:
        form = ex.extract(data, "申报书.pdf", size_limit_bytes=..., timeout_s=60)

Workers start from a forkserver that has already imported the extractors, so a worker is cheap to
replace after a kill. ``FORMINTAKE_ISOLATE=0`` turns isolation off (extraction in-process).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import threading
import time

from formintake.models import Evidence, ExtractedForm

_GRACE_S = 2.0  # on top of the document limit: worker start and result transfer


def isolation_enabled() -> bool:
    return os.environ.get("FORMINTAKE_ISOLATE", "1").lower() not in ("0", "false", "no")


def _extract_in_worker(data: bytes, filename: str, size_limit_bytes: int, timeout_s: float) -> ExtractedForm:
    from formintake import extractors

    return extractors.extract(data, filename, size_limit_bytes=size_limit_bytes, timeout_s=timeout_s)


def _timeout_form(filename: str, timeout_s: float) -> ExtractedForm:
    from formintake.findings import make_finding

    form = ExtractedForm(source=filename)
    form.intake_findings.append(make_finding(
        "FILE_TIMEOUT", message=f"文件处理超过{timeout_s:g}秒，已中止", evidence=Evidence(method="file"),
        message_en=f"extraction exceeded {timeout_s:g} s and was stopped"))
    return form


class IsolatedExtractor:
    """A small pool of extraction worker processes; a document that overruns its limit kills its pool."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, min(2, os.cpu_count() or 1))
        self._pool: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = mp.get_context("forkserver")
                ctx.set_forkserver_preload(["formintake.extractors", "formintake.models", "formintake.validators"])
                self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
            return self._pool

    def _kill(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):  # stop the stuck parse now
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, data: bytes, filename: str, *, size_limit_bytes: int, timeout_s: float) -> cf.Future:
        return self._ensure().submit(_extract_in_worker, data, filename, size_limit_bytes, timeout_s)

    def _wait(self, future: cf.Future, filename: str, timeout_s: float, started: float) -> ExtractedForm:
        remaining = max(0.1, timeout_s + _GRACE_S - (time.monotonic() - started))
        try:
            return future.result(timeout=remaining)
        except cf.TimeoutError:
            self._kill()
            return _timeout_form(filename, timeout_s)

    def extract(self, data: bytes, filename: str, *, size_limit_bytes: int, timeout_s: float) -> ExtractedForm:
        started = time.monotonic()
        try:
            fut = self.submit(data, filename, size_limit_bytes=size_limit_bytes, timeout_s=timeout_s)
            form = self._wait(fut, filename, timeout_s, started)
        except cf.process.BrokenProcessPool:
            # a worker died (killed for another document, or crashed): once more in a fresh pool
            self._kill()
            fut = self.submit(data, filename, size_limit_bytes=size_limit_bytes, timeout_s=timeout_s)
            form = self._wait(fut, filename, timeout_s, time.monotonic())
        form.extract_ms = round((time.monotonic() - started) * 1000, 2)
        return form

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> IsolatedExtractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_shared: IsolatedExtractor | None = None
_shared_lock = threading.Lock()


def shared_extractor() -> IsolatedExtractor:
    """One pool per process, reused across documents and runs (closed at interpreter exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            import atexit

            _shared = IsolatedExtractor()
            atexit.register(_shared.close)
        return _shared
