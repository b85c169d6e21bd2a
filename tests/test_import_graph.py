"""No import circles inside fer_keras, and the data, model and training layers never import the
inference layer (issue 29): every `import` and `from ... import` of a fer_keras module, at module
level or inside a function, read from the source with `ast` (nothing is imported)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fer_keras"
# Lower layers, which must not import the inference layer (or anything built on it).
LOWER = ("fer_keras.data", "fer_keras.layers", "fer_keras.models", "fer_keras.training",
         "fer_keras.pretrained", "fer_keras.papers")
HIGHER = ("fer_keras.inference", "fer_keras.deployment", "fer_keras.predict", "fer_keras.explain",
          "fer_keras.evaluate", "fer_keras.export", "fer_keras.reproduce", "fer_keras.benchmark",
          "fer_keras.calibrate")
# The SavedModel writer imports only Keras and TensorFlow: training writes each fold's
# SavedModel with it, as the export does.
LEAVES = ("fer_keras.deployment.saved_model",)


def _modules():
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _resolve(name, modules):
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts) or None


def import_graph():
    """{module: set of fer_keras modules it imports}."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                if target.startswith("fer_keras"):
                    found = _resolve(target, modules)
                    if found and found != name:
                        edges.add(found)
        graph[name] = edges
    return graph


def circles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_the_circle_finder_finds_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_lower_layers_never_import_higher_ones():
    for leaf in LEAVES:
        assert import_graph()[leaf] == set()
    upward = sorted((m, t) for m, targets in import_graph().items() for t in targets
                    if m.startswith(LOWER) and t.startswith(HIGHER) and t not in LEAVES)
    assert upward == []
