"""The value types of the typed subset and how each maps to WebAssembly."""

from __future__ import annotations

from enum import Enum

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1


class PyType(Enum):
    """A Python type the compiler knows: its name is the annotation that spells it."""

    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    NONE = "None"

    @property
    def wasm(self) -> str:
        """The WebAssembly value type (``""`` for None: no value)."""
        return _WASM[self]

    @property
    def numeric(self) -> bool:
        return self in (PyType.INT, PyType.FLOAT, PyType.BOOL)

    def __str__(self) -> str:
        return self.value


_WASM = {PyType.INT: "i64", PyType.FLOAT: "f64", PyType.BOOL: "i32", PyType.STR: "i32", PyType.NONE: ""}

#: Annotation names accepted for parameters and return values.
ANNOTATIONS = {"int": PyType.INT, "float": PyType.FLOAT, "bool": PyType.BOOL, "str": PyType.STR,
               "None": PyType.NONE}

#: Types an exported function may take and return (a str is a pointer into the module's memory).
EXPORTABLE = frozenset({PyType.INT, PyType.FLOAT, PyType.BOOL, PyType.NONE})


def fits_i64(value: int) -> bool:
    return I64_MIN <= value <= I64_MAX
