"""labctl.analysis is pure functions on numpy arrays, each citing its method."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import labctl.analysis.jv as jv

ANALYSIS_DIR = Path(jv.__file__).parent
ALLOWED_IMPORTS = {"__future__", "dataclasses", "typing", "numpy", "numpy.typing"}
CITATION = re.compile(r":doi:`10\.\d{4,}/\S+`|docs/methods\.md §\d+")


def test_analysis_imports_only_numpy_and_the_standard_library() -> None:
    for path in sorted(ANALYSIS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {node.module or ""}
            else:
                continue
            assert names <= ALLOWED_IMPORTS, f"{path.name}:{node.lineno} imports {names}"


def test_analysis_opens_no_files() -> None:
    for path in sorted(ANALYSIS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {
            node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
        }
        assert not called & {"open", "read_text", "read_bytes", "write_text", "loadtxt",
                             "savetxt", "load", "save"}, path.name


def test_every_public_function_cites_its_method() -> None:
    public = [getattr(jv, name) for name in jv.__all__ if inspect.isfunction(getattr(jv, name))]
    assert len(public) >= 8
    for function in public:
        assert CITATION.search(function.__doc__ or ""), function.__name__
