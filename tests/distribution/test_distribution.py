"""The distribution as users get it: the sdist, the wheel built from it, a new virtualenv.

Offline: the build uses the setuptools of the running environment (no build isolation), and
the new virtualenv borrows only the third-party dependencies from it (a ``.pth`` line after its
own site-packages), so the ``nestpy`` it imports is the wheel's.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.1.0+packagingtest"
"""Written into the copy's pyproject.toml: ``__version__`` must come from the metadata."""
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "node_modules",
    "__pycache__",
    "build",
    "dist",
    "*.egg-info",
    "site",
    ".*_cache",
)


def run(*argv: str | Path, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    out = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, f"{argv}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist built from a copy of the source tree, and the wheel built from the sdist."""
    tmp = tmp_path_factory.mktemp("dist")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    pyproject = source / "pyproject.toml"
    text = pyproject.read_text()
    assert 'version = "0.1.0"' in text
    pyproject.write_text(text.replace('version = "0.1.0"', f'version = "{VERSION}"', 1))
    out = tmp / "out"
    build_sdist = f"from setuptools import build_meta; print(build_meta.build_sdist({str(out)!r}))"
    name = run(sys.executable, "-c", build_sdist, cwd=source).strip().splitlines()[-1]
    sdist = out / name
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp / "unpacked", filter="data")
    unpacked = next((tmp / "unpacked").iterdir())
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        unpacked,
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        out,
    )
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel, "tmp": tmp}


def test_the_sdist_ships_what_its_tests_need(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        info = archive.extractfile(next(n for n in archive.getnames() if n.endswith("/PKG-INFO")))
        assert info is not None
        metadata = email.message_from_bytes(info.read())
    assert {
        "LICENSE",
        "README.md",
        "tests/test_samples.py",
        "tests/test_benchmarks_smoke.py",
        "samples/math_service/main.py",
        "benchmarks/run.py",
        "docs/index.md",
        "scripts/test",
        "nestpy/py.typed",
    } <= names
    assert not [n for n in names if "node_modules" in n or "__pycache__" in n]
    assert metadata["License-Expression"] == "MIT"


def test_the_wheel_metadata(dists: dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
        info = f"nestpy_mqtt-{VERSION}.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert f"{info}/licenses/LICENSE" in names
    assert {n.split("/")[0] for n in names} == {"nestpy", "nestpy_mqtt", info}
    assert metadata["Name"] == "nestpy-mqtt"
    assert metadata["License-Expression"] == "MIT"
    assert "License" not in metadata  # the deprecated free-text field
    assert "Programming Language :: Python :: 3.11" in metadata.get_all("Classifier")
    assert "mqtt" in metadata["Keywords"].split(",")
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    # The long description is the README: on PyPI, relative links would be broken.
    readme = metadata.get_payload()
    assert "bash scripts/test" in readme
    assert "](" in readme
    assert not [
        part.split(")", 1)[0]
        for part in readme.split("](")[1:]
        if not part.startswith(("https://", "http://", "#"))
    ]
    assert "nestpy = nestpy.cli.main:main" in entry_points


def test_the_wheel_installs_imports_and_runs_in_a_new_virtualenv(dists: dict[str, Path]) -> None:
    venv = dists["tmp"] / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        dists["wheel"],
    )
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    (Path(site) / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import nestpy, nestpy_mqtt, nestpy.testing\n"
        "print(nestpy.__version__)\n"
        "print(nestpy.__file__)\n"
        "print(nestpy_mqtt.__file__)\n"
    )
    version, core, mqtt = run(python, "-c", code, cwd=dists["tmp"]).splitlines()
    assert version == VERSION
    assert Path(core).is_relative_to(site)
    assert Path(mqtt).is_relative_to(site)
    assert run(venv / "bin" / "nestpy", "--version", cwd=dists["tmp"]) == f"nestpy {VERSION}\n"
