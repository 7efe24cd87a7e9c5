"""The engine's own layout: pure Python (no Django), and no module that needs itself back.

Imports inside functions count: they would hide a circle, not remove it."""

import ast
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ENGINE = Path(settings.BASE_DIR) / "migration" / "engine"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE.parents[1]).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ENGINE.rglob("*.py")}


def _imports(module: str) -> list[tuple[str, str]]:
    """(engine module imported, name taken from it) for every import in the module, anywhere."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.append((f"{target}.{alias.name}", ""))
                elif target in MODULES:
                    found.append((target, alias.name))
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name in MODULES]
    return [(target, name) for target, name in found if target != module]


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while (popped := stack.pop()) != module:
                component.append(popped)
            if component:
                circles.append(sorted([module, *component]))

    for module in edges:
        if module not in index:
            visit(module)
    return circles


def test_no_engine_module_imports_itself_back_even_inside_a_function():
    edges = {module: {target for target, _ in _imports(module)} for module in MODULES}
    assert _circles(edges) == []


def test_no_engine_module_takes_another_s_private_name():
    taken = [
        (module, f"{target}.{name}")
        for module in MODULES
        for target, name in _imports(module)
        if name.startswith("_")
    ]
    assert taken == []


def test_importing_every_engine_module_loads_no_django():
    names = sorted(MODULES)
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_architecture_page_names_every_engine_module():
    page = (Path(settings.BASE_DIR) / "docs" / "architecture.md").read_text()
    named = {str(p.relative_to(ENGINE)) for p in ENGINE.rglob("*.py") if p.name != "__init__.py"}
    tables = {n for n in named if n.startswith("tables/")}
    assert sorted(n for n in named - tables if n not in page) == []
