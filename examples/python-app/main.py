"""Whole Python, as it is written: `wasmrun exec examples/python-app Ada` (a wasi:cli/command component)."""

import sys
from dataclasses import dataclass


@dataclass
class Greeting:
    name: str

    def render(self) -> str:
        return f"hello, {self.name}, from Python {sys.version_info.major}.{sys.version_info.minor}"


names = sys.argv[1:] or ["world"]
for greeting in (Greeting(name) for name in names):
    print(greeting.render())
