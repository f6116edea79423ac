"""The registry: lazy entries are described without being imported and imported once on get(); held
entries, aliases and "did you mean" work as before."""
from __future__ import annotations

import sys

import pytest

from ganbench.errors import UnknownNameError
from ganbench.registry import Lazy, Registry


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A module on sys.path that no one has imported yet; it counts how often it is executed."""
    name = f"ganbench_test_plugin_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "import builtins\n"
        "builtins.PLUGIN_IMPORTS = getattr(builtins, 'PLUGIN_IMPORTS', 0) + 1\n"
        "class Thing:\n    '''Docstring of the thing.'''\n    data_kinds = ('image',)\n"
        "def hook(x):\n    return x + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import builtins

    monkeypatch.setattr(builtins, "PLUGIN_IMPORTS", 0, raising=False)
    yield name
    sys.modules.pop(name, None)


def test_a_lazy_entry_is_described_without_importing_it_and_imported_once_on_get(plugin):
    import builtins

    reg: Registry[type] = Registry("widget")
    reg.declare("thing", f"{plugin}:Thing", aliases=("t",), data_kinds=("image",), prepare=Lazy(f"{plugin}:hook"),
                description="A thing.\nMore about it.")
    entry = reg.entry("t")
    assert reg.canonical("t") == "thing" and "t" in reg and reg.names() == ["thing"] and len(reg) == 1
    assert reg.meta("thing")["data_kinds"] == ("image",) and entry.doc == "A thing."
    assert [e.name for e in reg] == ["thing"] and reg.suggest("thnig") == ["thing"]
    assert not entry.loaded and plugin not in sys.modules and builtins.PLUGIN_IMPORTS == 0
    thing = reg.get("thing")
    assert thing.__name__ == "Thing" and thing.data_kinds == ("image",) and entry.loaded
    assert reg.get("t") is thing and builtins.PLUGIN_IMPORTS == 1
    assert reg.meta("thing")["prepare"](1) == 2  # the metadata's Lazy imports on its first call


def test_a_lazy_entry_needs_a_description_and_a_module_attr_path():
    reg: Registry[object] = Registry("widget")
    with pytest.raises(ValueError, match="needs a description"):
        reg.declare("thing", "some.module:Thing")
    with pytest.raises(ValueError, match="must read 'package.module:attribute'"):
        reg.declare("thing", "some.module.Thing", description="no colon")
    with pytest.raises(ValueError, match="must read 'package.module:attribute'"):
        Lazy("some.module")
    reg.declare("thing", "some.module:Thing", description="fine")
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("thing", object())


def test_a_wrong_path_fails_on_get_naming_the_path(plugin):
    reg: Registry[object] = Registry("widget")
    reg.declare("missing", f"{plugin}:Nothing", description="an attribute the module lacks")
    with pytest.raises(AttributeError, match=f"^{plugin}:Nothing: module '{plugin}' has no attribute 'Nothing'$"):
        reg.get("missing")
    assert not reg.entry("missing").loaded


def test_held_entries_and_unknown_names_work_as_before():
    reg: Registry[object] = Registry("widget")

    @reg.register("held", aliases=("h",), description="Held.")
    def held():
        """Its docstring."""

    reg.add("other", held)
    assert reg.get("h") is held and reg.entry("held").loaded and reg.entry("other").doc == "Its docstring."
    with pytest.raises(UnknownNameError, match="^unknown widget 'hled' — did you mean 'held'\\?$"):
        reg.get("hled")
    with pytest.raises(UnknownNameError, match="^unknown widget 'zzz' — known: held, other$"):
        reg.meta("zzz")
