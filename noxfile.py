"""Developer tasks: ``nox -s tests`` (the whole suite, against a built wheel), ``lint``,
``typecheck``, ``docs`` and ``bench``."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


def _install_wheel(session: nox.Session, extras: str) -> None:
    """Build a wheel and install it (not editable): a file missing from the package fails tests."""
    dist = tempfile.mkdtemp(prefix="wasmrun-wheel-")
    session.run("python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, ".")
    wheel = glob.glob(os.path.join(dist, "wasmrun-*.whl"))[0]
    session.install("--force-reinstall", "--no-deps", wheel)
    session.install(f"{wheel}[{extras}]")
    shutil.rmtree(dist, ignore_errors=True)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against the installed wheel. Extra args go to pytest."""
    _install_wheel(session, "c,test")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "wasmrun", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("mypy", "pytest", "-e", ".")
    session.run("mypy", "wasmrun")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site in strict mode (broken links and warnings fail)."""
    session.install("mkdocs", "-e", ".")
    session.run("mkdocs", "build", "--strict", "--site-dir", os.path.join(session.create_tmp(), "site"))


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark beside its yardstick and print the ratios."""
    _install_wheel(session, "c")
    session.run("python", "benchmarks/run_all.py", *session.posargs)
