"""Every ``>>>`` example in the package's docstrings runs and shows what it says (the envs included, under their
installed name ``prefrl.envs``)."""

import doctest
import importlib
import pkgutil

import pytest

import prefrl
import prefrl.envs


def all_modules() -> list[str]:
    names = {"prefrl", "prefrl.envs"}
    for package in (prefrl, prefrl.envs):  # prefrl.envs installs from the top-level envs/ folder
        names.update(info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."))
    return sorted(n for n in names if not n.endswith(".__main__"))  # importing __main__ runs the command


MODULES = all_modules()


def test_the_walk_finds_every_package():
    assert {"prefrl.envs", "prefrl.envs.tasks", "prefrl.teachers.registry", "prefrl.labeling.web.app"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
