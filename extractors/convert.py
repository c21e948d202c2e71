"""Legacy word-processor files (.doc, Kingsoft .wps, .rtf, a web page or Word 2003 XML saved as .doc)
-> docx with LibreOffice headless.

    docx_bytes, findings = to_docx(data, "doc", deadline=time.monotonic() + 60)

Runs inside the extraction (the isolated worker process with its per-document time limit): the
upload is written to a private temporary folder, ``soffice --headless --convert-to docx`` writes the
docx next to it, the folder is removed afterwards. Each worker process has its own LibreOffice user
profile (``-env:UserInstallation``), so two workers never share (and lock) one profile; it is made on
the first conversion and removed when the process ends (a profile left by a killed worker is swept by
the next process that starts one).

The converter is ``soffice.bin`` itself, not the ``soffice`` wrapper script, so the process we start
is the one that converts: a document over its time limit kills it (and its process group), and it is
told to die with its parent (``PR_SET_PDEATHSIG`` via ``setpriv``) when the pool kills the worker.

Which LibreOffice: ``FORMINTAKE_SOFFICE`` (a path or a command name; ``none`` = no converter, as on a
machine without LibreOffice), else ``soffice`` / ``libreoffice`` on PATH. Without one, legacy files
stay FILE_UNSUPPORTED_TYPE with a message that names the Debian package to install.
"""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from formintake.models import Evidence, Finding
from formintake.findings import make_finding
from formintake.settings import load_settings

SOFFICE_ENV = "FORMINTAKE_SOFFICE"
INSTALL_PACKAGE = "libreoffice-writer-nogui"  # Debian: LibreOffice Writer without the GUI (~200 MB)
KIND_ZH = {"doc": "旧版Word(.doc)或WPS文字(.wps)", "rtf": "RTF", "html": "网页(HTML，如另存为网页或网上系统导出的Word)",
           "wordxml": "Word 2003 XML"}
# named by content: Kingsoft .wps is Word's binary format
_SRC_EXT = {"doc": ".doc", "rtf": ".rtf", "html": ".htm", "wordxml": ".xml"}
_RESTART = 81  # soffice.bin exits with this after creating a fresh profile: run it once more
_FILE = Evidence(method="file")
_profile: tuple[int, Path] | None = None  # (pid, folder): a forked child makes its own


def find_soffice() -> str | None:
    """The LibreOffice binary to convert with, or None when conversion is not available."""
    configured = load_settings().soffice  # FORMINTAKE_SOFFICE
    if configured is not None:
        if configured.lower() in ("0", "none", "off", "false", "no"):
            return None
        found = shutil.which(configured)
        return _real_binary(found) if found else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return _real_binary(found)
    return None


def _real_binary(path: str) -> str:
    """``/usr/bin/soffice`` is a wrapper script (and oosplash a launcher): use ``soffice.bin`` next to it."""
    real = Path(os.path.realpath(path))
    binary = real.with_name("soffice.bin")
    return str(binary) if binary.is_file() and os.access(binary, os.X_OK) else str(real)


def missing_converter_finding(kind: str) -> Finding:
    what = KIND_ZH.get(kind, kind)
    return make_finding(
        "FILE_UNSUPPORTED_TYPE",
        message=f"文件为{what}格式，本系统未安装格式转换组件LibreOffice（Debian软件包{INSTALL_PACKAGE}），"
                f"无法读取；请申报单位另存为docx或PDF后重新上传，或由管理员安装{INSTALL_PACKAGE}",
        value=kind, expected="docx或PDF", evidence=_FILE,
        message_en=f"legacy {kind} file and no LibreOffice to convert it (install {INSTALL_PACKAGE}, "
                   f"or set {SOFFICE_ENV})")


def to_docx(data: bytes, kind: str, *, deadline: float, size_limit_bytes: int = 50 * 2**20
            ) -> tuple[bytes | None, list[Finding]]:
    """Convert a legacy file to docx bytes; on failure None and the finding that says why."""
    soffice = find_soffice()
    if soffice is None:
        return None, [missing_converter_finding(kind)]
    what = KIND_ZH.get(kind, kind)
    with tempfile.TemporaryDirectory(prefix="formintake-convert-") as tmp:
        src = Path(tmp, "upload" + _SRC_EXT.get(kind, ".doc"))
        src.write_bytes(data)
        out = Path(tmp, "out")
        cmd = [soffice, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               "--nofirststartwizard", f"-env:UserInstallation={_profile_dir().as_uri()}",
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(src)]
        for _ in range(2):
            remaining = deadline - time.monotonic()
            if remaining <= 0.5:
                return None, [_timeout_finding(what)]
            rc = _run(cmd, remaining, tmp)
            if rc is None:
                return None, [_timeout_finding(what)]
            if rc != _RESTART:
                break
        result = out / (src.stem + ".docx")
        if not result.is_file() or result.stat().st_size == 0:
            return None, [make_finding(
                "FILE_CORRUPT", message=f"文件为{what}格式，但LibreOffice无法打开它（文件可能已损坏），请另存为docx或PDF后重新上传",
                value=kind, evidence=_FILE, message_en=f"LibreOffice could not convert this {kind} file (exit {rc})")]
        if result.stat().st_size > size_limit_bytes:
            return None, [make_finding(
                "FILE_TOO_LARGE", message=f"文件为{what}格式，转换为docx后超过大小限制", value=result.stat().st_size,
                expected=f"≤{size_limit_bytes}字节", evidence=_FILE, message_en="converted docx larger than the size limit")]
        converted = result.read_bytes()
    return converted, [make_finding(
        "FILE_CONVERTED", message=f"文件为{what}格式，已用LibreOffice转换为docx后读取；如有疑问请与原文件核对",
        value=kind, evidence=_FILE, message_en=f"legacy {kind} converted to docx with LibreOffice (headless)")]


def _timeout_finding(what: str) -> Finding:
    return make_finding("FILE_TIMEOUT", message=f"文件为{what}格式，转换为docx超过处理时限，已中止", evidence=_FILE,
                        message_en="conversion to docx exceeded the per-document time limit")


def _run(cmd: list[str], timeout: float, cwd: str) -> int | None:
    """Run LibreOffice; its return code, or None when it overran ``timeout`` (then it is killed)."""
    env = dict(os.environ, HOME=cwd, SAL_USE_VCLPLUGIN="svp")
    proc = subprocess.Popen(_die_with_parent() + cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        return None


def _die_with_parent() -> list[str]:
    """A prefix that makes LibreOffice die with the process that started it (Linux PR_SET_PDEATHSIG via
    util-linux ``setpriv``, which then execs it): a worker killed by the pool leaves no converter behind.
    (``setpriv`` rather than a ``preexec_fn``, which is unsafe when the caller has threads.)"""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def _profile_dir() -> Path:
    """This process's LibreOffice user profile (made once, removed at exit)."""
    global _profile
    if _profile is None or _profile[0] != os.getpid() or not _profile[1].is_dir():
        base = Path(tempfile.gettempdir())
        prefix = f"formintake-lo-profile-{os.getuid()}-"
        for old in base.glob(prefix + "*"):  # left behind by killed workers
            pid = old.name[len(prefix):]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        folder = base / f"{prefix}{os.getpid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        # runs at exit of the main process and of multiprocessing workers (which skip atexit)
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(folder, True), exitpriority=1)
        _profile = (os.getpid(), folder)
    return _profile[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
