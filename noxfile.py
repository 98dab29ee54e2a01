"""Developer tasks: ``nox -s tests`` (the whole suite, against a built wheel), ``lint``,
``typecheck``, ``docs`` and ``bench``."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

import nox

nox.options.sessions = ["tests", "plugins", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True


PLUGIN_PACKAGES = sorted(os.path.dirname(p) for p in glob.glob("plugins/*/pyproject.toml"))


def _build_wheel(session: nox.Session, source: str) -> str:
    dist = tempfile.mkdtemp(prefix="wasmrun-wheel-")
    session.run("python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, source)
    return glob.glob(os.path.join(dist, "*.whl"))[0]


def _install_wheel(session: nox.Session, extras: str) -> None:
    """Build a wheel and install it (not editable): a file missing from the package fails tests."""
    wheel = _build_wheel(session, ".")
    session.install("--force-reinstall", "--no-deps", wheel)
    session.install(f"{wheel}[{extras}]")
    shutil.rmtree(os.path.dirname(wheel), ignore_errors=True)


def _install_plugin_packages(session: nox.Session) -> list[str]:
    """Each package in plugins/ from its own wheel, beside wasmrun's; returns their directories."""
    for package in PLUGIN_PACKAGES:
        wheel = _build_wheel(session, package)
        session.install("--force-reinstall", "--no-deps", wheel)
        session.install(wheel)
        shutil.rmtree(os.path.dirname(wheel), ignore_errors=True)
    return PLUGIN_PACKAGES


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against the installed wheels (wasmrun and the packages in plugins/; the
    core tests load no external plugin unless a test asks for one). Extra args go to pytest."""
    _install_wheel(session, "c,test,agent")  # agent: the agent mode's server, MCP and JS cell parser
    _install_plugin_packages(session)
    session.run("pytest", *session.posargs)


@nox.session
def plugins(session: nox.Session) -> None:
    """Each package in plugins/, installed from its wheel beside wasmrun's, runs its own tests."""
    _install_wheel(session, "c,test")
    for package in _install_plugin_packages(session):
        session.run("pytest", "--rootdir", package, os.path.join(package, "tests"), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "wasmrun", "tests", "benchmarks", "plugins", "scripts", "docs", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("mypy", "pytest", "-e", ".[browser,agent]")  # the headless driver and agent mode are typed too
    session.run("mypy", "wasmrun")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site in strict mode (broken links and warnings fail)."""
    session.install("mkdocs", "pymdown-extensions", "-e", ".")
    session.run("mkdocs", "build", "--strict", "--site-dir", os.path.join(session.create_tmp(), "site"))


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark beside its yardstick and print the ratios (with the plugin packages
    and playwright installed, so every row can run)."""
    _install_wheel(session, "c,test,agent")
    _install_plugin_packages(session)
    session.run("python", "benchmarks/run_all.py", *session.posargs)
