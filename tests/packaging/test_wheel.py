"""The wheel is what a host installs: built from the repository, installed into a fresh virtual environment.

No network: the wheel is built with the development environment's setuptools (``--no-build-isolation``), and
the fresh environment reaches the dependencies through a ``.pth`` file naming the development environment's
site-packages as a plain directory. A plain directory on ``sys.path`` does not run the ``.pth`` files inside it,
so the editable install of ``motcua`` there stays inactive: in the fresh environment ``motcua`` is the wheel's
(asserted, not assumed). Every command runs with its working directory in a temporary folder, so the repository
is not on ``sys.path`` either.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.packaging import probe

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(probe.__file__).resolve()
DEV_SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
DEPENDENCIES_PTH = "motcua-test-dependencies.pth"
# Left out of the copy the wheel is built from: environments, caches, build and run output (at the root only),
# compiled files and databases (anywhere).
NOT_SOURCE_AT_ROOT = frozenset({".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
                                "build", "dist", "demo-output", "out"})
NOT_SOURCE_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.db", "*.db-wal", "*.db-shm")
DIST_INFO = re.compile(r"motcua-[^/]+\.dist-info")
TIMEOUT = 300


def hermetic_environment() -> dict[str, str]:
    """This process's environment without what would steer Python or motcua (PYTHONPATH, MOTCUA_DATABASE_URL…)."""
    environment = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("PYTHON", "MOTCUA_")) and name not in {"VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"}
    }
    environment["PYTHONNOUSERSITE"] = "1"
    return environment


def run(command: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], cwd=cwd, env=hermetic_environment(), capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)


def succeeded(ran: subprocess.CompletedProcess[str]) -> str:
    assert ran.returncode == 0, (
        f"{ran.args} exited {ran.returncode}\n--- stdout\n{ran.stdout}\n--- stderr\n{ran.stderr}"
    )
    return ran.stdout


@dataclass(frozen=True)
class Built:
    source: Path  # the copy of the repository the wheel was built from
    wheel: Path


@dataclass(frozen=True)
class Venv:
    root: Path
    site_packages: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def motcua(self) -> Path:
        return self.root / "bin" / "motcua"

    def probe(self, *args: str, cwd: Path) -> dict[str, object]:
        report: dict[str, object] = json.loads(succeeded(run([self.python, PROBE, *args], cwd)))
        return report


def ours(name: str) -> bool:
    """Whether a path of the wheel lies under motcua/ or motcua-*.dist-info/."""
    return top(name) == "motcua" or dist_info(name)


def top(name: str) -> str:
    return name.split("/", maxsplit=1)[0]


def dist_info(name: str) -> bool:
    return DIST_INFO.fullmatch(top(name)) is not None


def inside(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def not_source(directory: str, names: list[str]) -> set[str]:
    ignored = set(NOT_SOURCE_ANYWHERE(directory, names))
    return ignored | (NOT_SOURCE_AT_ROOT & set(names)) if Path(directory) == ROOT else ignored


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The wheel of a snapshot of the working tree (a build in place would write build/ and *.egg-info into it)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=not_source)  # motcua/<folder> stay links to ../<folder>
    dist = base / "dist"
    succeeded(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                   "--check-build-dependencies", "--wheel-dir", dist, source], base))
    wheels = sorted(dist.glob("motcua-*.whl"))
    assert len(wheels) == 1, wheels
    return Built(source, wheels[0])


@pytest.fixture(scope="module")
def venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    base = tmp_path_factory.mktemp("venv")
    root = base / "venv"
    succeeded(run([sys.executable, "-m", "venv", "--without-pip", root], base))
    python = root / "bin" / "python"
    purelib = succeeded(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base))
    site_packages = Path(purelib.strip())
    assert inside(site_packages, root)
    # The wheel goes in before the dependencies are made visible: pip then sees no other motcua to replace.
    succeeded(run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
                   built.wheel], base))
    (site_packages / DEPENDENCIES_PTH).write_text(f"{DEV_SITE_PACKAGES}\n", encoding="utf-8")
    return Venv(root, site_packages)


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    """A working directory outside the repository."""
    assert not inside(tmp_path, ROOT)
    yield tmp_path


def test_the_wheel_adds_only_motcua(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = wheel.namelist()
        info = next(top(name) for name in names if dist_info(name))
        top_level = wheel.read(f"{info}/top_level.txt").decode().split() if f"{info}/top_level.txt" in names else []
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()

    outsiders = [name for name in names if not ours(name)]
    assert outsiders == []
    assert top_level in ([], ["motcua"])
    assert re.search(r"^motcua = motcua\.entrypoints\.cli\.main:main$", entry_points, re.MULTILINE), entry_points


def test_the_wheel_holds_every_module_and_data_file_of_the_source(built: Built) -> None:
    """Every file of motcua/ and of the folders linked into it: modules, YAML definitions, the Alembic template."""
    source = built.source
    for folder in probe.FOLDERS:
        assert (source / "motcua" / folder).resolve() == (source / folder).resolve()
    package = source / "motcua"
    expected = {
        (Path(directory) / name).relative_to(source).as_posix()
        for directory, _, names in os.walk(package, followlinks=True)  # through the links, as setuptools goes
        for name in names
    }
    with zipfile.ZipFile(built.wheel) as wheel:
        shipped = {name for name in wheel.namelist() if not dist_info(name)}

    for kind in ("workflows", "procedures", "rules", "offices", "plans", "units", "calendar"):
        assert any(name.startswith(f"motcua/definitions/{kind}/") for name in expected), f"no {kind} in the source"
    assert "motcua/adapters/sql/migrations/script.py.mako" in expected
    assert sorted(expected - shipped) == []
    assert sorted(shipped - expected) == []


def test_the_fresh_environment_imports_motcua_from_the_wheel_and_nothing_else(venv: Venv, outside: Path) -> None:
    entries = {path.name for path in venv.site_packages.iterdir()} - {"__pycache__"}
    infos = {name for name in entries if dist_info(name)}
    assert len(infos) == 1
    assert entries == {"motcua", DEPENDENCIES_PTH, *infos}

    report = venv.probe("imports", cwd=outside)

    # The assumption the whole file rests on: the editable install beside the dependencies stays inactive.
    assert inside(str(report["prefix"]), venv.root)
    assert inside(str(report["motcua"]), venv.site_packages)
    assert inside(str(report["distribution"]), venv.site_packages)
    assert report["editable_loaded"] == []
    meta_path = report["meta_path"]
    assert isinstance(meta_path, list)
    assert not any("editable" in finder.lower() for finder in meta_path)
    files = report["files"]
    assert isinstance(files, dict)
    assert {name: path for name, path in files.items() if not inside(path, venv.site_packages)} == {}
    # Everything imports; the design's folders are motcua.<folder>, never top-level names of their own.
    assert report["failed"] == {}
    modules = report["modules"]
    assert isinstance(modules, list)
    assert {f"motcua.{folder}" for folder in probe.FOLDERS} <= set(modules)
    assert report["bare"] == dict.fromkeys(probe.FOLDERS)
    assert report["entry_points"] == ["motcua=motcua.entrypoints.cli.main:main"]


def test_the_console_script_runs_the_demo(venv: Venv, outside: Path) -> None:
    out = succeeded(run([venv.motcua, "demo", "--dossiers", "50"], outside))

    assert "Biểu số 06/VPCP/KSTT" in out
    summary = json.loads((outside / "demo-output" / "tom-tat.json").read_text(encoding="utf-8"))
    assert summary["dossiers"] == 50
    database = outside / "demo-output" / "motcua.db"
    assert "intact" in succeeded(run([venv.motcua, "verify", "--db", f"sqlite:///{database}"], outside))
    # The demo migrated its database with the wheel's scripts, to the head of the repository's.
    migrated = venv.probe("migrations", f"sqlite:///{database}", cwd=outside)
    assert migrated["database_heads"] == [probe.migrations("sqlite://")["head"]]
    assert migrated["differences"] == []


def test_the_migrations_of_the_wheel_build_the_schema(venv: Venv, outside: Path) -> None:
    database = outside / "fresh.db"

    report = venv.probe("migrations", f"sqlite:///{database}", "--upgrade", cwd=outside)

    source = probe.migrations("sqlite://")
    assert inside(str(report["scripts"]), venv.site_packages)
    assert source["revisions"] and report["revisions"] == source["revisions"]
    assert report["head"] == source["head"]
    assert report["database_heads"] == [source["head"]]
    assert report["differences"] == []
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(source["head"],)]


def test_every_yaml_definition_loads_from_the_installed_package(venv: Venv, outside: Path) -> None:
    report = venv.probe("definitions", cwd=outside)

    folders = report.pop("folders")
    assert isinstance(folders, dict)
    assert set(folders) == {"workflows", "procedures", "rules", "offices", "plans", "units", "calendar"}
    assert {kind: folder for kind, folder in folders.items() if not inside(folder, venv.site_packages)} == {}
    source = probe.definitions()
    source.pop("folders")
    yaml = source["yaml"]
    assert isinstance(yaml, dict)
    assert all(yaml.values()), yaml  # each kind ships at least one file
    assert report == source
