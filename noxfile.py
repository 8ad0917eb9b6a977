"""Every developer and CI task is a nox session.

    nox -s demo          the main job: one short run of each package's headline result
    nox -s tests         every package's tests (parametrised; ``nox -s "tests(package='magep-nfn')"`` for one)
    nox -s lint          ruff check and format check
    nox -s typecheck     mypy (strict) on weightspace_core
    nox -s build         wheels and sdists of the four distributions into dist/
    nox -s isolated      each built wheel alone in a fresh environment: install, import, run its own tests
    nox -s bench         every benchmark in benchmarks/bench/, results to benchmarks/results/

Installs always go through constraints.txt, which pins torch to the CPU build on this project's machines.
"""

from __future__ import annotations

import functools
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
CONSTRAINTS = str(ROOT / "constraints.txt")
DIST = ROOT / "dist"

CORE = "shared/weightspace-core"
PACKAGES = {
    "weightspace-core": CORE,
    "clifford-egnn": "packages/clifford-egnn",
    "magep-nfn": "packages/magep-nfn",
    "transformer-nfn": "packages/transformer-nfn",
}
IMPORT_NAMES = {name: name.replace("-", "_") for name in PACKAGES}
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
TEST_DEPS = nox.project.dependency_groups(PYPROJECT, "test")
BENCH_DEPS = nox.project.dependency_groups(PYPROJECT, "benchmarks")
LINT_DEPS = nox.project.dependency_groups(PYPROJECT, "lint")
TYPECHECK_DEPS = nox.project.dependency_groups(PYPROJECT, "typecheck")

nox.options.sessions = ["lint", "tests"]
REUSE_VENVS = not os.environ.get("CI")
nox.options.reuse_existing_virtualenvs = REUSE_VENVS
nox.needs_version = ">=2025.2.9"


def _discarded_when_done(func: Callable[..., None]) -> Callable[..., None]:
    """Delete the session's environment when it ends (pass or fail) unless environments are reused.

    Each environment holds its own torch (up to 1.6 GB with the extras). Environments that will not be reused are
    rebuilt on the next run anyway, so keeping them only fills the disk: CI runs eleven sessions and would need about
    14 GB; this way it holds one at a time.
    """

    @functools.wraps(func)
    def run(session: nox.Session, **params: str) -> None:
        try:
            func(session, **params)
        finally:
            location = getattr(session.virtualenv, "location", None)
            if not REUSE_VENVS and location:
                shutil.rmtree(location, ignore_errors=True)

    return run


def _install(session: nox.Session, *args: str) -> None:
    session.install("-c", CONSTRAINTS, *args)


def _with_extras(path: str) -> str:
    """``path[extra1,extra2]``: a distribution with every optional dependency set it declares."""
    extras = nox.project.load_toml(ROOT / path / "pyproject.toml")["project"].get("optional-dependencies", {})
    return f"{path}[{','.join(sorted(extras))}]" if extras else path


def _install_workspace(session: nox.Session, *extra: str) -> None:
    """All four distributions, editable, with their extras, plus ``extra``: the development install."""
    editable = [arg for path in PACKAGES.values() for arg in ("-e", _with_extras(path))]
    _install(session, *editable, *extra)


def _pytest(session: nox.Session, *paths: str) -> None:
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths, *session.posargs)


@nox.session
@nox.parametrize("package", [*PACKAGES, "benchmarks"])
@_discarded_when_done
def tests(session: nox.Session, package: str) -> None:
    """Unit tests and docstring examples of one package (``benchmarks``: the Lightning entry points)."""
    if package == "benchmarks":
        _install_workspace(session, *TEST_DEPS, *BENCH_DEPS)
        _pytest(session, "benchmarks/tests")
        return
    path = PACKAGES[package]
    _install_workspace(session, *TEST_DEPS)
    _pytest(session, f"{path}/tests", "--doctest-modules", f"{path}/src")


@nox.session
@_discarded_when_done
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    _install(session, *LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
@_discarded_when_done
def typecheck(session: nox.Session) -> None:
    """mypy --strict on weightspace_core."""
    _install(session, *TYPECHECK_DEPS, "-e", CORE)
    session.run("mypy", f"{CORE}/src/weightspace_core")


@nox.session
@_discarded_when_done
def build(session: nox.Session) -> None:
    """Wheels and sdists of the four distributions into dist/, built by hatch."""
    _install(session, "hatch>=1.9")
    shutil.rmtree(DIST, ignore_errors=True)
    for path in PACKAGES.values():
        with session.chdir(path):
            session.run("hatch", "build", "-t", "wheel", "-t", "sdist", str(DIST))
    wheels = sorted(p.name for p in DIST.glob("*.whl"))
    session.log(f"built {len(wheels)} wheels: {', '.join(wheels)}")
    if len(wheels) != len(PACKAGES):
        session.error(f"expected {len(PACKAGES)} wheels, found {len(wheels)}")


def _wheel_extras(wheel: Path) -> list[str]:
    """The extras a wheel declares (its optional dependency sets are part of what it declares)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(name).decode().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("Provides-Extra:")]


@nox.session
@nox.parametrize("package", list(PACKAGES))
@_discarded_when_done
def isolated(session: nox.Session, package: str) -> None:
    """Install one built wheel with only its declared dependencies, import it, and run its own tests.

    Run ``nox -s build`` first. weightspace-core is taken from dist/ too, never from the source tree.
    """
    module = IMPORT_NAMES[package]
    wheels = list(DIST.glob(f"{module}-*.whl"))
    if not wheels:
        session.error(f"no wheel for {package} in {DIST}: run `nox -s build` first")
    extras = _wheel_extras(wheels[0])
    requirement = f"{module}[{','.join(extras)}] @ {wheels[0].as_uri()}" if extras else str(wheels[0])
    _install(session, "--find-links", str(DIST), requirement, *TEST_DEPS)
    tmp = Path(session.create_tmp())
    tests_copy = tmp / "tests"
    shutil.rmtree(tests_copy, ignore_errors=True)
    shutil.copytree(ROOT / PACKAGES[package] / "tests", tests_copy)
    with session.chdir(tmp):
        session.run(
            "python", "-c", f"import {module}; print({module}.__name__, {module}.__version__, {module}.__file__)"
        )
        session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "tests")


@nox.session
@_discarded_when_done
def demo(session: nox.Session) -> None:
    """The main job: each package's headline demonstration, in order (see benchmarks/demo/)."""
    _install_workspace(session, *BENCH_DEPS)
    session.run("python", "-m", "benchmarks.demo", *session.posargs)


@nox.session
@_discarded_when_done
def bench(session: nox.Session) -> None:
    """Every benchmark module in benchmarks/bench/ (or those named as arguments); JSON to benchmarks/results/."""
    _install_workspace(session, *BENCH_DEPS)
    session.run("python", "-m", "benchmarks.bench", *session.posargs)
