"""Extraction in worker processes, on every core, with a hard per-document time limit (FILE_TIMEOUT).

A parser that hangs inside one call (a pathological PDF, an enormous docx part) cannot be stopped from
its own thread; a worker process can be killed. Workers also give the pipeline every core, and pdfium
is not thread-safe anyway, so processes are the way to parallelise it.

    with IsolatedExtractor(workers=2) as ex:
        form = ex.extract(data, "申报书.pdf", size_limit_bytes=..., timeout_s=60)
        for tag, outcome in ex.run(jobs, window=4):     # N documents in flight, completion order
            ...

Each worker has its own pipe and runs one document at a time, so a document that overruns its limit
kills only its own worker (a fresh one takes its place); the documents in the other workers carry on.
A job may answer with a :class:`Split`: more work in parts (a scan's pages, one OCR task each, with a
limit of their own) that run on any free worker, then a last step that gets every part's outcome and
whose result is the job's. So a four-page scan on two workers uses both, and a page that overruns its
limit is stopped alone.
Workers start from a forkserver that has already imported the extractors, so replacing one is cheap.
``FORMINTAKE_ISOLATE=0`` turns isolation off (extraction in-process). ``FORMINTAKE_WORKERS`` sets how
many worker processes (default: every core).
"""

from __future__ import annotations

import atexit
import gc
import io
import itertools
import logging
import multiprocessing as mp
import os
import pickle
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

from formintake import extractors
from formintake.extractors.pages import ocr_page
from formintake.findings import make_finding
from formintake.models import Evidence, ExtractedForm
from formintake.settings import load_settings

log = logging.getLogger("formintake")

_GRACE_S = 2.0  # on top of the document limit: worker start and result transfer
# A busy worker is sent its next job ahead (it waits in the socket's buffer, read the moment the worker
# sends its result) when the job's bytes are at most this many and the worker holds the run's shared
# objects already: never so much that writing it could block this process until the worker is done
# (an AF_UNIX socket buffers ~200 KB by default). docs/decisions.md, "The flow's CPU and memory".
_AHEAD_BYTES = 64 << 10
_in_worker = False  # set in a pool worker process: work may come back as a Split


def in_worker() -> bool:
    """Whether this process is one of the pool's extraction workers (so it may answer with a Split)."""
    return _in_worker


def isolation_enabled() -> bool:
    return load_settings().isolate


def default_workers() -> int:
    configured = load_settings().workers
    if configured:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def read_in_parts(data: bytes, filename: str, size_limit_bytes: int, timeout_s: float, page_timeout_s: float,
                  then: Callable[..., Any] | None = None, then_args: tuple = (), defer_ocr: bool = True) -> Any:
    """Read one document (:func:`extractors.read`), then ``then(form, *then_args)`` (default: the form).

    With ``defer_ocr`` (in a pool worker) a scan's pages come back as a :class:`Split` instead: one OCR
    task a page on every worker, each within ``page_timeout_s``, then :func:`extractors.finish` and
    ``then`` in a worker. ``then`` must be a module-level function (it travels to the worker by name).
    The pool's own jobs and the pipeline's (which adds the rules and the record) both read this way."""
    got = extractors.read(data, filename, size_limit_bytes=size_limit_bytes, timeout_s=timeout_s, defer_ocr=defer_ocr)
    if isinstance(got, extractors.Deferred):
        return Split(ocr_parts(got, page_timeout_s), _finish_read, (got, page_timeout_s, then, then_args))
    return got if then is None else then(got, *then_args)


def ocr_parts(deferred: extractors.Deferred, page_timeout_s: float) -> list[Part]:
    """The deferred file's pages as pool parts, one OCR task a page (each carries the file's bytes; the
    Deferred keeps them no longer)."""
    kind = deferred.layout.file_type
    data, deferred.data = deferred.data, None  # the last step needs the pages, not the file again
    return [Part(ocr_page, (data, kind, t.index), page_timeout_s) for t in deferred.layout.ocr_tasks]


def _finish_read(deferred: extractors.Deferred, page_timeout_s: float, then: Callable[..., Any] | None,
                 then_args: tuple, outcomes: list) -> Any:
    form = extractors.finish(deferred, outcomes, page_timeout_s)
    return form if then is None else then(form, *then_args)


def timeout_form(filename: str, timeout_s: float) -> ExtractedForm:
    form = ExtractedForm(source=filename)
    form.intake_findings.append(make_finding(
        "FILE_TIMEOUT", message=f"文件处理超过{timeout_s:g}秒，已中止", evidence=Evidence(method="file"),
        message_en=f"extraction exceeded {timeout_s:g} s and was stopped"))
    return form


def crashed_form(filename: str, detail: str) -> ExtractedForm:
    form = ExtractedForm(source=filename)
    form.intake_findings.append(make_finding(
        "FILE_CORRUPT", message="文件无法读取（解析进程异常退出）", evidence=Evidence(method="file"),
        message_en=f"the extraction process died reading this file: {detail}"[:300]))
    return form


def _worker_main(conn: Connection) -> None:
    """One worker: read (fn, args) jobs from its pipe, one at a time, send back ("ok"|"error", value)."""
    global _in_worker
    _in_worker = True
    # what the fork server imported stays for the worker's life: out of the collector's sight, so each
    # full collection walks only the documents' own objects (~5 % of a worker's CPU went to the collector)
    gc.freeze()
    while True:
        try:
            job = _recv_job(conn)
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args = job
        t0 = time.perf_counter()
        try:
            out = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
            out = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        try:
            conn.send((*out, time.perf_counter() - t0))  # + the seconds it worked (the pool's busy time)
        except (BrokenPipeError, OSError):
            return


_OUT_OF_BAND = 1 << 20  # a bytes argument this large (a document) is sent outside the pickle


def _send_job(conn: Connection, fn: Callable, args: tuple, shared: Callable[[Any], Any] | None = None) -> None:
    """``(fn, args)`` to a worker. A document's bytes go out of band (pickle protocol 5): written from the
    caller's own buffer and received as one bytes object, never copied into and out of a pickle (for a
    45 MB upload that copy cost 45 MB in this process and 45 MB in the worker, docs/performance.md).
    ``shared``: the run's :class:`_Shared` objects as this worker knows them (a pickle persistent id)."""
    _write_job(conn, _job_message(fn, args, shared))


def _job_message(fn: Callable, args: tuple, shared: Callable[[Any], Any] | None = None) -> list:
    """What :func:`_send_job` writes: the pickle (behind the count of out-of-band buffers), then each buffer."""
    buffers: list[pickle.PickleBuffer] = []
    head = io.BytesIO()
    pickler = pickle.Pickler(head, 5, buffer_callback=buffers.append)
    pickler.dispatch_table = ForkingPickler(io.BytesIO(), 5).dispatch_table  # what Connection.send uses
    if shared is not None:
        pickler.persistent_id = shared
    pickler.dump((fn, tuple(pickle.PickleBuffer(a) if isinstance(a, bytes) and len(a) >= _OUT_OF_BAND else a
                            for a in args)))
    return [len(buffers).to_bytes(4, "big") + head.getvalue(), *(b.raw() for b in buffers)]


def _write_job(conn: Connection, message: list) -> None:
    for part in message:
        conn.send_bytes(part)


def _recv_job(conn: Connection) -> tuple[Callable, tuple] | None:
    msg = conn.recv_bytes()
    if not msg:
        return None  # stop
    buffers = [conn.recv_bytes() for _ in range(int.from_bytes(msg[:4], "big"))]
    unpickler = pickle.Unpickler(io.BytesIO(msg[4:]), buffers=buffers)
    unpickler.persistent_load = _shared_in_worker
    return unpickler.load()


# A worker's copies of the shared objects it was sent (token -> object), the last few runs' only.
_worker_shared: dict[int, Any] = {}
_WORKER_SHARED_KEPT = 8


def _shared_in_worker(pid: tuple) -> Any:
    kind, token, *blob = pid
    if kind == "new":
        _worker_shared[token] = pickle.loads(blob[0])
        while len(_worker_shared) > _WORKER_SHARED_KEPT:
            del _worker_shared[next(iter(_worker_shared))]
    return _worker_shared[token]


_shared_tokens = itertools.count(1)


class _Shared:
    """Arguments every job of one :meth:`IsolatedExtractor.run` carries (the campaign): pickled once per
    run and sent to each worker once, then named by a token. Pickling the campaign into every job and
    out again in the worker cost ~1 ms of the two processes' CPU per document (and the worker's unit index
    a look-up by the campaign's content each time)."""

    def __init__(self, objs: Iterable[Any]) -> None:
        self._by_id: dict[int, list] = {id(o): [next(_shared_tokens), o, None] for o in objs}

    def held_by(self, w: _Worker) -> bool:
        """Whether ``w`` has every shared object already (a job to it then carries tokens only)."""
        return all(entry[0] in w.shared for entry in self._by_id.values())

    def for_worker(self, w: _Worker) -> Callable[[Any], Any] | None:
        if not self._by_id:
            return None

        def persistent_id(obj: Any) -> Any:
            entry = self._by_id.get(id(obj))
            if entry is None or entry[1] is not obj:
                return None
            token = entry[0]
            if token in w.shared:
                return ("shared", token)
            if entry[2] is None:
                entry[2] = pickle.dumps(obj, 5)
            w.shared.add(token)
            return ("new", token, entry[2])

        return persistent_id


@dataclass
class Job:
    """One document: ``fn(*args)`` in a worker, stopped after ``timeout_s`` (+ grace).

    ``tag`` comes back with the outcome. A job whose worker dies is tried once more in a fresh worker.
    ``fn=None``: nothing to run, the outcome is ``ok`` with ``args[0]`` (kept in the caller's order).
    """

    tag: Any
    fn: Callable
    args: tuple
    timeout_s: float
    attempts: int = 0
    ahead: bool | None = None  # False: too large to be sent to a busy worker ahead (IsolatedExtractor._dispatch)


@dataclass
class Outcome:
    """What became of a job: ``status`` ok (``value`` is fn's result), timeout, crashed or error
    (``detail`` says what); ``seconds`` from the job's start in a worker to its end."""

    status: str
    value: Any = None
    detail: str = ""
    seconds: float = 0.0
    worker: int | None = None  # pid of the worker process that ran it (the last one, if retried)


@dataclass
class PoolStats:
    """How busy the workers were, summed over the pool's runs (the benchmark reads it): ``busy_s`` the
    seconds workers spent in jobs (as each worker timed them), ``slot_s`` the runs' wall time times the
    workers. ``slot_s - busy_s`` is the time workers waited for work (a starved pool)."""

    busy_s: float = 0.0
    slot_s: float = 0.0


@dataclass
class Part:
    """One piece of a :class:`Split`: ``fn(*args)`` in any worker, stopped after ``timeout_s`` (+ grace)."""

    fn: Callable
    args: tuple
    timeout_s: float


@dataclass
class Split:
    """What a job may return instead of its result: ``parts`` to run on every worker, then
    ``then(*then_args, outcomes)`` (one :class:`Outcome` per part, in the parts' order) in a worker,
    with the job's own limit; what ``then`` returns is the job's result (it may split again)."""

    parts: list[Part]
    then: Callable
    then_args: tuple = ()


@dataclass
class _Group:
    """A split job in progress: its parts' outcomes so far."""

    tag: Any
    timeout_s: float
    split: Split
    outcomes: list
    left: int
    started: float


@dataclass
class _Then:
    group: _Group


@dataclass
class _PartTag:
    group: _Group
    index: int


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    job: Job | None = None
    ahead: Job | None = None  # sent already, next after ``job`` (the worker reads it when job is done)
    started: float = 0.0
    deadline: float = 0.0
    shared: set[int] = field(default_factory=set)  # tokens of the _Shared objects this worker holds
    can_wait: bool = False  # its socket buffers a job sent ahead (write never blocks while it works)


class IsolatedExtractor:
    """A pool of extraction worker processes, each with its own pipe; a document that overruns its
    limit kills only its own worker."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()  # one run() at a time per pool
        self._ctx = None
        self.stats = PoolStats()

    # ---------------------------------------------------------------- workers

    def _context(self):
        if self._ctx is None:
            ctx = mp.get_context("forkserver")
            # cn2an (Chinese numerals, ~0.15-0.5 s to import) too: imported once here rather than in each
            # worker at its first such numeral (formintake.extractors imports it only on first use)
            # formintake.document, not formintake.pipeline: what a worker runs, without the reports and the steps
            ctx.set_forkserver_preload(["formintake.extractors", "formintake.models", "formintake.validators",
                                        "formintake.document", "cn2an"])
            self._ctx = ctx
        return self._ctx

    def _start_worker(self) -> _Worker:
        ctx = self._context()
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="formintake-extract")
        proc.start()
        child.close()
        return _Worker(proc, parent, can_wait=_buffers(parent) >= 3 * _AHEAD_BYTES)

    def _stop_worker(self, w: _Worker, kill: bool = False) -> None:
        try:
            if kill:
                w.proc.kill()
            else:
                w.conn.send_bytes(b"")  # stop
        except (BrokenPipeError, OSError):
            pass
        w.proc.join(5 if not kill else 10)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join()
        w.conn.close()

    def worker_pids(self) -> list[int]:
        return [w.proc.pid for w in self._idle if w.proc.is_alive()]

    # ---------------------------------------------------------------- running jobs

    def run(self, jobs: Iterable[Job], window: int | None = None, shared: Iterable[Any] = ()) -> Iterator[tuple[Any, Outcome]]:
        """Run jobs on every worker, yielding ``(tag, Outcome)`` in completion order.

        ``jobs`` is consumed lazily: at most ``window`` (default: twice the workers) are taken from it
        ahead of their results, so a caller reading a document's bytes in the iterator never holds more
        than ``window`` documents at once. ``shared``: objects many jobs carry in their arguments (the
        campaign), sent to each worker once in this run instead of with every job; they must not change
        while the run lasts.
        """
        window = max(window or 2 * self.workers, self.workers)
        shared_args = _Shared(shared)
        with self._lock:
            run_started = time.monotonic()
            source = iter(jobs)
            pending: deque[Job] = deque()
            busy: dict[Connection, _Worker] = {}
            exhausted = False

            def take() -> Iterator[tuple[Any, Outcome]]:
                """Jobs from the source while fewer than ``window`` are queued, running or sent ahead;
                yields the outcomes of those with nothing to run."""
                nonlocal exhausted
                while not exhausted and len(pending) + len(busy) + sum(
                        w.ahead is not None for w in busy.values()) < window:
                    try:
                        job = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    if job.fn is None:  # nothing to run (the caller has the result already)
                        yield job.tag, Outcome("ok", job.args[0] if job.args else None)
                    else:
                        pending.append(job)

            try:
                while True:
                    yield from take()
                    self._dispatch(pending, busy, shared_args, ahead=not exhausted)
                    if not busy:
                        if exhausted and not pending:
                            return
                        continue
                    now = time.monotonic()
                    ready = wait(list(busy), timeout=max(0.0, min(w.deadline for w in busy.values()) - now))
                    # outcomes are handed to the caller only after the freed workers have their next job:
                    # what the caller does with a result (store it, read the next upload) overlaps the work
                    done: list[tuple[Any, Outcome]] = []
                    for conn in ready:
                        w = busy.pop(conn)
                        job, w.job = w.job, None
                        assert job is not None
                        try:
                            status, value, worked = conn.recv()
                        except (EOFError, OSError) as exc:  # the worker died on this document
                            self._stop_worker(w, kill=True)
                            _requeue_ahead(w, pending)
                            job.attempts += 1
                            if job.attempts < 2:
                                pending.appendleft(job)
                                continue
                            exit_code = w.proc.exitcode
                            done += _settle(job, Outcome(
                                "crashed", detail=f"exit code {exit_code} ({type(exc).__name__})",
                                seconds=time.monotonic() - w.started, worker=w.proc.pid), pending)
                            continue
                        self.stats.busy_s += worked
                        seconds = time.monotonic() - w.started
                        out = (Outcome("ok", value, seconds=seconds, worker=w.proc.pid) if status == "ok"
                               else Outcome("error", detail=value, seconds=seconds, worker=w.proc.pid))
                        if w.ahead is not None:  # it has started the job sent ahead: its clock starts now
                            self._started(w, w.ahead)
                            w.ahead = None
                            busy[conn] = w
                        else:
                            self._idle.append(w)
                        done += _settle(job, out, pending)
                    now = time.monotonic()
                    for conn, w in list(busy.items()):
                        if conn not in ready and now >= w.deadline:  # overran: kill this worker only
                            del busy[conn]
                            job, w.job = w.job, None
                            self._stop_worker(w, kill=True)
                            _requeue_ahead(w, pending)
                            done += _settle(job, Outcome(  # type: ignore[arg-type]
                                "timeout", detail=f"over {job.timeout_s:g} s",  # type: ignore[union-attr]
                                seconds=now - w.started, worker=w.proc.pid), pending)
                    # so that a worker now on the job it was sent ahead gets its next one before the
                    # caller has these results (a few of the jobs with nothing to run come along)
                    done += itertools.islice(take(), window)
                    self._dispatch(pending, busy, shared_args, ahead=not exhausted)
                    yield from done
            finally:
                for w in busy.values():  # the caller stopped early: these results are not wanted
                    self._stop_worker(w, kill=True)
                self.stats.slot_s += (time.monotonic() - run_started) * self.workers

    def _dispatch(self, pending: deque[Job], busy: dict[Connection, _Worker], shared: _Shared,
                  ahead: bool = False) -> None:
        """Queued jobs to the idle workers (started as needed), one job per worker; with ``ahead`` (more
        jobs are coming), then a small next job to each busy worker that has none waiting, so it never
        waits for this process to see its result before it starts the next document (a process busy
        with its other threads took ~4 ms a document to answer: 15 % of the workers' time)."""
        while pending and len(busy) < self.workers:
            job = pending.popleft()
            w = self._idle.pop() if self._idle else self._start_worker()
            if not self._send(w, job, shared):  # the idle worker had died: a fresh one
                self._stop_worker(w, kill=True)
                w = self._start_worker()
                self._send(w, job, shared)
            busy[w.conn] = w
        if not ahead:
            return
        for w in busy.values():
            if not pending:
                return
            if not w.can_wait or w.ahead is not None or pending[0].ahead is False or not shared.held_by(w):
                continue
            job = pending[0]
            if sum(len(a) for a in job.args if isinstance(a, (bytes, bytearray, memoryview))) > _AHEAD_BYTES:
                job.ahead = False  # a large document: sent when a worker is free
                continue
            # the worker holds the shared objects: the message carries their tokens only, made once
            message = _job_message(job.fn, job.args, shared.for_worker(w))
            if sum(len(part) for part in message) > _AHEAD_BYTES:
                job.ahead = False
                continue
            try:
                _write_job(w.conn, message)
            except (BrokenPipeError, OSError):  # the worker died: reading its result will say so
                return
            w.ahead = pending.popleft()

    def _send(self, w: _Worker, job: Job, shared: _Shared) -> bool:
        try:
            _send_job(w.conn, job.fn, job.args, shared.for_worker(w))
        except (BrokenPipeError, OSError):
            return False
        self._started(w, job)
        return True

    @staticmethod
    def _started(w: _Worker, job: Job) -> None:
        w.job, w.started = job, time.monotonic()
        w.deadline = w.started + job.timeout_s + _GRACE_S

    def extract(self, data: bytes, filename: str, *, size_limit_bytes: int, timeout_s: float,
                ocr_page_timeout_s: float | None = None) -> ExtractedForm:
        """One document in the workers (the FILE_TIMEOUT / crash findings as the pipeline gives them); its
        scanned pages, if any, are OCR'd one page per task on every worker, each within
        ``ocr_page_timeout_s`` (default: ``timeout_s``)."""
        started = time.monotonic()
        page_s = ocr_page_timeout_s or timeout_s
        job = Job(filename, read_in_parts, (data, filename, size_limit_bytes, timeout_s, page_s), timeout_s)
        ((_, out),) = list(self.run([job]))
        form = form_of(out, filename, timeout_s)
        form.extract_ms = round((time.monotonic() - started) * 1000, 2)
        return form

    def warm_up(self) -> threading.Thread:
        """Start every worker now, in a background thread: a fresh process spends ~1 s starting the fork
        server and its workers, which a caller that knows documents are coming (the plan, before it has
        parsed the versions index) can overlap with its own work. ``run`` waits for it (the lock)."""

        def start() -> None:
            with self._lock:
                try:
                    while len(self._idle) < self.workers:
                        self._idle.append(self._start_worker())
                except Exception:  # noqa: BLE001 - run() starts what is missing itself
                    log.warning("starting the extraction workers ahead failed", exc_info=True)

        t = threading.Thread(target=start, name="formintake-warm-up", daemon=True)
        t.start()
        return t

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            self._stop_worker(w)

    def __enter__(self) -> IsolatedExtractor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _buffers(conn: Connection) -> int:
    """Bytes the socket to a worker buffers before a write blocks (SO_SNDBUF; 0 if unknown)."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            return sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    except OSError:
        return 0


def _requeue_ahead(w: _Worker, pending: deque[Job]) -> None:
    """A job sent ahead to a worker that was killed or died never started: back to the queue's front."""
    if w.ahead is not None:
        pending.appendleft(w.ahead)
        w.ahead = None


def _settle(job: Job, out: Outcome, pending: deque[Job]) -> Iterator[tuple[Any, Outcome]]:
    """Deliver a finished job's outcome: to the caller, or, for a part of a split job, to its group
    (whose last part queues the ``then`` step); a job that answered with a Split queues its parts.
    Parts and ``then`` steps go to the front of the queue: started documents finish first."""
    tag, timeout_s = job.tag, job.timeout_s
    if isinstance(tag, _PartTag):
        group = tag.group
        group.outcomes[tag.index] = out
        group.left -= 1
        if group.left == 0:
            pending.appendleft(Job(_Then(group), group.split.then, (*group.split.then_args, group.outcomes),
                                   group.timeout_s))
        return
    started = time.monotonic() - out.seconds
    if isinstance(tag, _Then):  # the job's last step: its outcome is the job's, timed from the job's start
        tag, timeout_s, started = tag.group.tag, tag.group.timeout_s, tag.group.started
        out.seconds = time.monotonic() - started
    if not (out.status == "ok" and isinstance(out.value, Split)):
        yield tag, out
        return
    split = out.value
    group = _Group(tag, timeout_s, split, [None] * len(split.parts), len(split.parts), started)
    if not split.parts:
        pending.appendleft(Job(_Then(group), split.then, (*split.then_args, []), timeout_s))
    for i in reversed(range(len(split.parts))):
        part = split.parts[i]
        pending.appendleft(Job(_PartTag(group, i), part.fn, part.args, part.timeout_s))


def form_of(out: Outcome, filename: str, timeout_s: float) -> ExtractedForm:
    """An ExtractedForm for any outcome of an extraction job (``ok`` carries the form itself)."""
    if out.status == "ok":
        return out.value
    if out.status == "timeout":
        return timeout_form(filename, timeout_s)
    if out.status == "crashed":
        return crashed_form(filename, out.detail)
    raise RuntimeError(f"extraction worker failed on {filename}: {out.detail}")


_shared: IsolatedExtractor | None = None
_shared_lock = threading.Lock()


def shared_extractor() -> IsolatedExtractor:
    """One pool per process, reused across documents and runs (closed at interpreter exit)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = IsolatedExtractor()
            atexit.register(_shared.close)
        return _shared
