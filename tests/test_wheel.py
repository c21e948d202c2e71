"""The built wheel installs and runs on its own: in a fresh venv, from a folder outside the project,
`formintake extract` reads a generated form, and nothing is installed as a top-level `validators`,
`storage`, `flows` or `extractors` package.

The fresh venv reuses the project venv's third-party packages through a .pth file naming that
site-packages directory (a directory on sys.path: the .pth files *inside* it, such as the editable
install's finder, are not processed), so nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from formintake.samples import demo_batch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools writes build/ and *.egg-info next to the sources
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                                              "tests", "bench", "demo-output", "formintake-out"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp / "dist"), str(src)], check=True, capture_output=True, cwd=tmp)
    [whl] = (tmp / "dist").glob("formintake-*.whl")
    env = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    py = env / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # the project venv's pip installs into the fresh venv's interpreter (no pip of its own needed)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(whl)], check=True, capture_output=True, cwd=tmp)
    return env


def test_wheel_runs_extract_in_a_clean_venv(wheel_venv, tmp_path):
    sample = next(s for s in demo_batch() if s.name.endswith(".docx"))
    (tmp_path / sample.name).write_bytes(sample.data)
    out = subprocess.run([wheel_venv / "bin" / "formintake", "extract", sample.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout.splitlines()[0])
    assert doc["direction"] in ("platform", "experience_center") and doc["fields"].get("project_name")


def test_wheel_has_one_import_root(wheel_venv, tmp_path):
    code = ("import importlib.util, json, formintake, formintake.validators, formintake.storage; "
            "print(json.dumps({'file': formintake.__file__, 'top': {n: importlib.util.find_spec(n) is not None "
            "for n in ('validators', 'storage', 'flows', 'extractors')}}))")
    out = subprocess.run([wheel_venv / "bin" / "python", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         check=True)
    got = json.loads(out.stdout)
    assert got["file"].startswith(str(wheel_venv)), got  # the wheel's copy, not the source tree
    assert got["top"] == {"validators": False, "storage": False, "flows": False, "extractors": False}
