"""The layout's rules outside the engine (tests/engine/test_structure.py holds the engine's): the
app's modules import each other one way, services and connections import at the top of a module,
and test modules share what they share through conftest.py and the helper modules only.

Imports inside functions count: they would hide a circle, not remove it."""

from pathlib import Path

from django.conf import settings

from .helpers_imports import circles, imports_inside_functions, imports_of, module_name

ROOT = Path(settings.BASE_DIR)


def _modules(folder: Path) -> dict[str, Path]:
    return {module_name(path, ROOT): path for path in folder.rglob("*.py")}


def test_no_module_of_the_app_imports_itself_back_even_inside_a_function():
    modules = _modules(ROOT / "migration")
    edges = {
        module: {target for target, _ in imports_of(path, module, set(modules))}
        for module, path in modules.items()
    }
    assert circles(edges) == []


def test_services_and_connections_import_at_the_top_unless_a_comment_says_why():
    inside = []
    for folder in ("services", "connections"):
        for path in sorted((ROOT / "migration" / folder).glob("*.py")):
            lines = path.read_text().splitlines()
            for number, source in imports_inside_functions(path):
                if "#" not in source and not lines[number - 2].lstrip().startswith("#"):
                    inside.append(f"{path.relative_to(ROOT)}:{number}: {source}")
    assert inside == []


def test_no_test_module_imports_another_test_module():
    modules = _modules(ROOT / "tests")
    test_modules = {module for module in modules if module.rsplit(".", 1)[-1].startswith("test_")}
    taken = [
        f"{module} imports {target}"
        for module, path in modules.items()
        for target, _ in imports_of(path, module, test_modules)
    ]
    assert taken == []
