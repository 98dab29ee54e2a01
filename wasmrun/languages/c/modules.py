"""Choosing the module a build delivers when a Makefile or a CMake project makes several: the
one ``module`` in wasmrun.toml names, else the only one, else the one named after the project
(or the Makefile target); otherwise a one-line error listing them and the key that chooses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from wasmrun.errors import UsageError

T = TypeVar("T")

#: The wasmrun.toml key that chooses one of several modules.
SETTING = "module"


def choose(candidates: Mapping[str, T], *, made_by: str, setting: str | None, preferred: Iterable[str]) -> T:
    """The chosen candidate, by name.

    :param candidates: module name -> what to return for it (at least one).
    :param made_by: what made them, for the error (``make wasm``, ``CMake``).
    :param setting: the ``module`` setting, when the project has one.
    :param preferred: names that win when several are there, best first.
    """
    names = sorted(candidates)
    listed = ", ".join(names)
    if setting is not None:
        wanted = setting.removesuffix(".wasm")
        if wanted in candidates:
            return candidates[wanted]
        raise UsageError(f"wasmrun.toml: {SETTING} = {setting!r} is none of the modules {made_by} made ({listed})")
    if len(candidates) == 1:
        return next(iter(candidates.values()))
    for name in preferred:
        if name in candidates:
            return candidates[name]
    raise UsageError(f"{made_by} made several modules ({listed}): choose one with "
                     f'{SETTING} = "NAME" in wasmrun.toml')
