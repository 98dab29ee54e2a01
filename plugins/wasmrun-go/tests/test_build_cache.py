"""The build cache never serves a stale Go build (issue 13): a go build is keyed by what
``go list -deps -json`` says it read. Each ``test_stale_*`` builds a real module, changes one
thing, and checks that the next compile is not a hit and runs the new code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wasmrun import manifests
from wasmrun.building import compile_project
from wasmrun.cache import BuildCache
from wasmrun.models import BuildConfig, BuildResult
from wasmrun.plugins import Plugins, load_plugins
from wasmrun.testing import require_tool, run_wasm

import wasmrun_go
from wasmrun_go import toolchain as go_tools

pytestmark = pytest.mark.slow

MakeProject = Callable[..., Path]

GO_MOD = "module example.com/hello\n\ngo 1.21\n"
WORD_MOD = "module example.com/word\n\ngo 1.21\n"
REPLACED = GO_MOD + "\nrequire example.com/word v0.0.0\n\nreplace example.com/word => ../word\n"
USES_WORD = 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/word"\n)\n\nfunc main() { fmt.Println(word.Word) }\n'


def word_source(word: str) -> str:
    return f'package word\n\nconst Word = "{word}"\n'


@pytest.fixture
def plugins() -> Plugins:
    require_tool("go", found=go_tools.find(go_tools.WASI_MIN) is not None)
    loaded = load_plugins(entry_points=False)
    loaded.register(wasmrun_go, "go", source="wasmrun-go", version=wasmrun_go.__version__)
    return loaded


def settle() -> None:
    """Let the file-system clock pass the files just written: a file changed in the tick a build
    starts in may be newer than what the build read, and such a build is used once, not stored."""
    time.sleep(0.03)


def compiled(project: Path, plugins: Plugins) -> tuple[BuildResult, str]:
    result = compile_project(project, plugins, toolchain_name="go")
    return result, run_wasm(result.wasm_path).stdout


def built_and_stored(project: Path, plugins: Plugins, expected: str) -> None:
    """Build, check the output, and check that the build was stored (the next compile is a hit)."""
    settle()
    _, output = compiled(project, plugins)
    assert output == expected
    again, output = compiled(project, plugins)
    assert again.cached and again.commands == [] and output == expected


def rebuilt(project: Path, plugins: Plugins, expected: str) -> None:
    settle()
    result, output = compiled(project, plugins)
    assert not result.cached, "served the build from before the change"
    assert output == expected


def write_word_module(directory: Path, word: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "go.mod").write_text(WORD_MOD)
    (directory / "word.go").write_text(word_source(word))


def test_go_list_reports_what_the_build_read(make_project: MakeProject, plugins: Plugins, tmp_path: Path) -> None:
    write_word_module(tmp_path / "word", "one")
    project = make_project({"go.mod": REPLACED,
                            "main.go": USES_WORD, "notes/todo.go": "package notes\n"})
    out = tmp_path / "out"
    out.mkdir()
    result = wasmrun_go.build(BuildConfig(project_dir=project, output_dir=out, toolchain="go"))
    assert result.inputs is not None and result.inputs.files is not None
    files = set(result.inputs.files)
    word = tmp_path / "word"
    assert {project / "main.go", project / "go.mod", word / "word.go", word / "go.mod"} <= files
    assert project / "notes" / "todo.go" not in files, "a package the build does not import is no input"
    assert not any("/src/fmt/" in str(p) for p in files), "the standard library belongs to the Go installation"
    assert tmp_path / "go.work" in result.inputs.probed
    assert result.inputs.environment is not None and "GO*" in result.inputs.environment


def test_stale_embedded_file_changed(make_project: MakeProject, plugins: Plugins) -> None:
    project = make_project({
        "go.mod": GO_MOD,
        "main.go": 'package main\n\nimport (\n\t_ "embed"\n\t"fmt"\n)\n\n//go:embed data/word.txt\nvar word string\n\n'
                   "func main() { fmt.Println(word) }\n",
        "data/word.txt": "one",
    })
    built_and_stored(project, plugins, "one\n")
    (project / "data" / "word.txt").write_text("two")
    rebuilt(project, plugins, "two\n")


def test_stale_replace_to_a_directory_outside_the_module(make_project: MakeProject, plugins: Plugins,
                                                         tmp_path: Path) -> None:
    write_word_module(tmp_path / "word", "one")
    project = make_project({"go.mod": REPLACED,
                            "main.go": USES_WORD})
    built_and_stored(project, plugins, "one\n")
    (tmp_path / "word" / "word.go").write_text(word_source("two"))
    rebuilt(project, plugins, "two\n")


def test_stale_go_work_added_that_uses_another_module(make_project: MakeProject, plugins: Plugins,
                                                      tmp_path: Path) -> None:
    """A ``go.work`` in a directory above the module, using another copy of a module it needs, is
    picked up by the go command: the build must be redone with that copy."""
    write_word_module(tmp_path / "word", "one")
    write_word_module(tmp_path / "other-word", "two")
    project = make_project({"go.mod": REPLACED,
                            "main.go": USES_WORD}, name="hello")
    built_and_stored(project, plugins, "one\n")
    (tmp_path / "go.work").write_text("go 1.21\n\nuse ./hello\n\nreplace example.com/word => ./other-word\n")
    rebuilt(project, plugins, "two\n")
    (tmp_path / "go.work").unlink()
    settle()
    why = manifests.lookup(BuildCache.default(), manifests.invocation(project, toolchain="go")).reason
    back, output = compiled(project, plugins)
    assert back.cached and output == "one\n", f"the first build is kept beside the second: {why}"
