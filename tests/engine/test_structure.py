"""The engine's own layout: pure Python (no Django), and no module that needs itself back.

Imports inside functions count: they would hide a circle, not remove it."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings

from ..helpers_imports import circles, imports_of, module_name

ENGINE = Path(settings.BASE_DIR) / "migration" / "engine"


MODULES = {module_name(p, ENGINE.parents[1]): p for p in ENGINE.rglob("*.py")}


def _imports(module: str) -> list[tuple[str, str]]:
    """(engine module imported, name taken from it) for every import in the module, anywhere."""
    return imports_of(MODULES[module], module, set(MODULES))


def test_no_engine_module_imports_itself_back_even_inside_a_function():
    edges = {module: {target for target, _ in _imports(module)} for module in MODULES}
    assert circles(edges) == []


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
