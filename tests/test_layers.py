"""The layer rules of the package, checked on the source: which module may import which.

* pure (``segment``, ``preference``, ``store``, ``run_dir``, ``learning/``, ``teachers/``, ``behaviours/``): the
  standard library, numpy and torch only;
* simulator and RL adapters (``rl/``, ``envs/``): also gymnasium, stable-baselines3, MuJoCo, imageio; never
  labeling or the apps;
* labeling (``labeling/``): also FastAPI and uvicorn, and the options in ``config``; never the apps;
* the options (``config``): tyro, and the defaults of the layers below;
* apps (``experiments/``, ``cli``, the package's ``__init__``): anything.

Every import counts, also one inside a function (a lazy import is still a dependency). No module-level cycle.
"""

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = ("prefrl.segment", "prefrl.preference", "prefrl.store", "prefrl.run_dir")
PURE_PACKAGES = ("prefrl.learning", "prefrl.teachers", "prefrl.behaviours")
ADAPTERS = ("prefrl.rl", "prefrl.envs")
SIMULATOR = {"gymnasium", "stable_baselines3", "mujoco", "imageio", "av"}
SCIENTIFIC = {"numpy", "torch"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in ((ROOT / "prefrl", "prefrl"), (ROOT / "envs", "prefrl.envs")):
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def imports(module: str, path: Path) -> set[str]:
    """Absolute names of everything ``module`` imports, resolved against its package."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # "from prefrl.teachers import registry" imports the module prefrl.teachers.registry
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
            names.add(prefix)
    return names


def layer(module: str) -> str:
    if module in PURE or module.startswith(tuple(p + "." for p in PURE_PACKAGES)) or module in PURE_PACKAGES:
        return "pure"
    if module.startswith(tuple(p + "." for p in ADAPTERS)) or module in ADAPTERS:
        return "adapters"
    if module == "prefrl.labeling" or module.startswith("prefrl.labeling."):
        return "labeling"
    if module == "prefrl.config":
        return "options"
    return "apps"


ALLOWED_LAYERS = {
    "pure": {"pure"},
    "adapters": {"pure", "adapters"},
    "labeling": {"pure", "adapters", "labeling", "options"},
    "options": {"pure", "labeling"},
    "apps": {"pure", "adapters", "labeling", "options", "apps"},
}
ALLOWED_THIRD_PARTY = {
    "pure": SCIENTIFIC,
    "adapters": SCIENTIFIC | SIMULATOR | {"tomli"},  # tomli: tomllib before Python 3.11
    "labeling": SCIENTIFIC | SIMULATOR | {"fastapi", "uvicorn", "starlette", "pydantic"},
    "options": {"tyro"},
}


def prefrl_imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The prefrl modules ``module`` imports (a ``from package import name`` of a non-module counts as the
    package)."""
    found = set()
    for name in imports(module, path):
        while name and name.startswith("prefrl") and name not in known:
            name = name.rpartition(".")[0]
        if name in known and name != module:
            found.add(name)
    return found


KNOWN = modules()


@pytest.mark.parametrize("module", sorted(KNOWN))
def test_module_imports_only_what_its_layer_allows(module):
    path = KNOWN[module]
    own = layer(module)
    wrong = {m: layer(m) for m in prefrl_imports(module, path, KNOWN) if layer(m) not in ALLOWED_LAYERS[own]}
    assert not wrong, f"{module} ({own}) imports from layers it must not: {wrong}"
    if own in ALLOWED_THIRD_PARTY:
        third = {n.split(".")[0] for n in imports(module, path)} - STDLIB - {"prefrl", ""}
        extra = third - ALLOWED_THIRD_PARTY[own]
        assert not extra, f"{module} ({own}) imports {sorted(extra)}"


def test_no_import_cycle():
    graph = {m: prefrl_imports(m, p, KNOWN) - {"prefrl"} for m, p in KNOWN.items()}
    # a package imports its own children lazily at most; a cycle through the package __init__ is not counted
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(n) :] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_the_layer_check_sees_a_forbidden_import(tmp_path):
    """The check itself: a pure module importing gymnasium or an app is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("import gymnasium\nfrom prefrl.experiments import train\n")
    assert "gymnasium" in {n.split(".")[0] for n in imports("prefrl.learning.bad", bad)}
    found = prefrl_imports("prefrl.learning.bad", bad, KNOWN)
    assert "prefrl.experiments.train" in found and layer("prefrl.experiments.train") not in ALLOWED_LAYERS["pure"]


def test_at_most_eight_modules_at_the_top_and_no_file_over_400_lines():
    top = sorted(p.name for p in (ROOT / "prefrl").glob("*.py"))
    assert len(top) <= 8, top
    long = {str(p.relative_to(ROOT)): n for p in KNOWN.values() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_the_readme_code_layout_names_every_module_and_only_real_ones():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### Code layout", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    words = set(re.findall(r"[A-Za-z_]+(?:\.py)?", block))
    for module, path in KNOWN.items():
        name = path.stem if path.stem != "__init__" else path.parent.name
        assert name in words or f"{name}.py" in words, f"README's code layout does not name {module}"
    listed = {w for w in words if w.endswith(".py") and not w.startswith("test_")}
    assert listed <= {p.name for p in (ROOT / "prefrl").glob("*.py")}, listed
