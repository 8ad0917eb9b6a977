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

import os
import shutil
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
TEST_DEPS = ["pytest>=7", "hypothesis>=6"]
BENCH_DEPS = ["lightning>=2.2", "jsonargparse[signatures]>=4.27", "matplotlib>=3.7", "scipy>=1.10", "pandas>=2.0"]

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = not os.environ.get("CI")
nox.needs_version = ">=2024.3.2"


def _install(session: nox.Session, *args: str) -> None:
    session.install("-c", CONSTRAINTS, *args)


def _install_workspace(session: nox.Session, *extra: str) -> None:
    """All four distributions, editable, plus extras: the development install."""
    editable = [arg for path in PACKAGES.values() for arg in ("-e", path)]
    _install(session, *editable, *extra)


def _pytest(session: nox.Session, *paths: str) -> None:
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths, *session.posargs)


@nox.session
@nox.parametrize("package", [*PACKAGES, "benchmarks"])
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
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    _install(session, "ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on weightspace_core."""
    _install(session, "mypy>=1.10", "-e", CORE)
    session.run("mypy", f"{CORE}/src/weightspace_core")


@nox.session
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


@nox.session
@nox.parametrize("package", list(PACKAGES))
def isolated(session: nox.Session, package: str) -> None:
    """Install one built wheel with only its declared dependencies, import it, and run its own tests.

    Run ``nox -s build`` first. weightspace-core is taken from dist/ too, never from the source tree.
    """
    module = IMPORT_NAMES[package]
    wheels = list(DIST.glob(f"{module}-*.whl"))
    if not wheels:
        session.error(f"no wheel for {package} in {DIST}: run `nox -s build` first")
    _install(session, "--find-links", str(DIST), str(wheels[0]), *TEST_DEPS)
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
def demo(session: nox.Session) -> None:
    """The main job: each package's headline demonstration, in order (see benchmarks/demo/)."""
    _install_workspace(session, *BENCH_DEPS)
    session.run("python", "-m", "benchmarks.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark module in benchmarks/bench/ (or those named as arguments); JSON to benchmarks/results/."""
    _install_workspace(session, *BENCH_DEPS, "nfn>=0.1.2")
    session.run("python", "-m", "benchmarks.bench", *session.posargs)
