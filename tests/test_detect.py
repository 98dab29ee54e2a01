"""Detection, table-driven on mixed projects: each plugin claims only what is really its language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wasmrun.building import detect
from wasmrun.plugins import load_plugins

MAKE_WASM = "wasm:\n\t$(CC) main.c -o $(OUT_DIR)/m.wasm\n"

CASES: list[tuple[str, dict[str, str], list[str]]] = [
    ("c sources", {"main.c": ""}, ["c"]),
    ("c++ in src", {"src/app.cpp": ""}, ["c"]),
    ("nested c", {"src/lib/util.c": ""}, ["c"]),
    ("wat at root", {"main.wat": ""}, ["wat"]),
    ("wat in src", {"src/main.wat": ""}, ["wat"]),
    ("makefile with wasm target only", {"Makefile": MAKE_WASM}, ["c"]),
    ("makefile without wasm target", {"Makefile": "all:\n\techo hi\n"}, []),
    ("rust crate with a makefile", {"Cargo.toml": "[package]\nname='x'\n", "Makefile": MAKE_WASM,
                                    "src/main.rs": "fn main(){}"}, []),
    ("rust crate with a C build helper", {"Cargo.toml": "", "build/helper.c": ""}, []),
    ("go module with cgo file", {"go.mod": "module x\n", "main.go": "", "shim.c": ""}, []),
    ("zig project with c sources", {"build.zig": "", "src/c.c": ""}, []),
    ("headers only", {"include/x.h": ""}, []),
    ("empty", {}, []),
    ("readme only", {"README.md": "# hi"}, []),
    ("sources in node_modules are ignored", {"node_modules/pkg/a.c": ""}, []),
    ("sources in hidden dirs are ignored", {".git/hooks/x.c": ""}, []),
    ("wat and c together", {"main.wat": "", "native.c": ""}, ["c", "wat"]),
]


@pytest.mark.parametrize(("files", "expected"), [pytest.param(f, e, id=i) for i, f, e in CASES])
def test_detection(make_project: Callable[..., Path], files: dict[str, str], expected: list[str]) -> None:
    project = make_project(files)
    detection = detect(project, load_plugins(entry_points=False))
    assert [name for name, _ in detection.claims] == expected
    assert detection.chosen == (expected[0] if expected else None)


def test_evidence_names_the_files(make_project: Callable[..., Path]) -> None:
    project = make_project({"Makefile": MAKE_WASM, "src/a.c": "", "src/b.cpp": ""})
    (claim_name, claim), = detect(project, load_plugins(entry_points=False)).claims
    assert claim_name == "c"
    assert claim.evidence == ["Makefile (wasm target)", "src/a.c", "src/b.cpp"]
