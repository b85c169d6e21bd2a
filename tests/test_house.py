"""The house rules of ../shared/STYLE.md that a machine can check, read from the source with `ast`
(nothing is imported): no module under fer_keras/ over ~400 lines, no function over ~60, and no
`from x import _private` across modules."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fer_keras"
MAX_MODULE_LINES = 400
# A function's length is counted from its `def` to its last line, less its docstring: a builder's
# `Args:` section (keras applications' habit) documents it and is not code to split.
MAX_FUNCTION_LINES = 60

# Known exceptions, each to be removed when its module is split (issue 20):
ALLOWED_LONG_MODULES = set()
ALLOWED_LONG_FUNCTION_PREFIXES = ()


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def _relative(path):
    return path.relative_to(PACKAGE).as_posix()


def _function_lengths(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if ast.get_docstring(node) is not None:
                length -= node.body[0].end_lineno - node.body[0].lineno + 1
            yield node.name, node.lineno, length


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def _private_imports(tree):
    """(line, what) for every private name taken from another fer_keras module: `from m import
    _x`, `import m._x`, and `m._x` where `m` was imported from fer_keras."""
    ours = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and not (node.module or "").startswith("fer_keras"):
                continue
            for alias in node.names:
                if _private(alias.name):
                    source = "." * node.level + (node.module or "")
                    yield node.lineno, f"from {source} import {alias.name}"
                ours.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fer_keras"):
                    if any(_private(part) for part in alias.name.split(".")):
                        yield node.lineno, f"import {alias.name}"
                    ours.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in ours and _private(node.attr)):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def test_no_module_over_the_line_limit():
    long = {_relative(p): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert set(long) - ALLOWED_LONG_MODULES == set(), (
        f"modules over {MAX_MODULE_LINES} lines (split them by concept): {long}")


def test_no_function_over_the_line_limit():
    long = [f"{_relative(p)}:{line} {name} ({n} lines)" for p in _modules()
            if not _relative(p).startswith(ALLOWED_LONG_FUNCTION_PREFIXES)
            for name, line, n in _function_lengths(ast.parse(p.read_text()))
            if n > MAX_FUNCTION_LINES]
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_no_private_name_imported_across_modules():
    found = [f"{_relative(p)}:{line} {what}" for p in _modules()
             for line, what in _private_imports(ast.parse(p.read_text()))]
    assert found == [], f"private names used across modules (make them public): {found}"


def test_the_allow_lists_name_real_exceptions():
    """An exception that no longer applies is removed from the lists, not left to hide a
    regression."""
    modules = {_relative(p): p for p in _modules()}
    for name in ALLOWED_LONG_MODULES:
        assert name in modules, f"{name} no longer exists: drop it from ALLOWED_LONG_MODULES"
        assert len(modules[name].read_text().splitlines()) > MAX_MODULE_LINES, (
            f"{name} is within {MAX_MODULE_LINES} lines now: drop it from ALLOWED_LONG_MODULES")


@pytest.mark.parametrize("source, expected", [
    ("from fer_keras.training.metrics import _pyplot\n",
     ["from fer_keras.training.metrics import _pyplot"]),
    ("from .metrics import _pyplot\n", ["from .metrics import _pyplot"]),
    ("from fer_keras.training import metrics\nmetrics._pyplot()\n", ["metrics._pyplot"]),
    ("from fer_keras.inference import faces as _faces\n_faces.crop_face\n", []),
    ("import numpy as np\nnp._NoValue\nfrom keras.src import _x\n", []),
    ("from __future__ import annotations\n", []),
])
def test_the_private_import_check_catches_what_it_should(source, expected):
    assert [what for _, what in _private_imports(ast.parse(source))] == expected


def test_function_length_leaves_out_the_docstring():
    source = 'def f():\n    """One.\n\n    Two.\n    """\n    return 1\n'
    assert list(_function_lengths(ast.parse(source))) == [("f", 1, 2)]
