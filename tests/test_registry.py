"""The one registry pattern: named entries of one kind, and "module:object" resolved on use."""
from __future__ import annotations

import pytest

from odbench.registry import Registry, import_object


def test_entries_by_name_in_registration_order():
    colours: Registry[str] = Registry("colour")
    colours.register("red", "#f00")
    colours.register("green", "#0f0")
    assert colours.names() == ["red", "green"] and colours.values() == ["#f00", "#0f0"]
    assert colours.items() == [("red", "#f00"), ("green", "#0f0")]
    assert colours.get("red") == "#f00" and colours.get("blue") is None
    assert "green" in colours and len(colours) == 2 and list(colours) == ["red", "green"]
    assert colours.close_matches("gren") == ["green"]


def test_a_name_is_registered_once_unless_replaced():
    colours: Registry[str] = Registry("colour")
    colours.register("red", "#f00")
    with pytest.raises(ValueError, match="colour 'red' is already registered"):
        colours.register("red", "#e00")
    colours.register("red", "#e00", replace=True)
    assert colours.get("red") == "#e00"
    with pytest.raises(ValueError, match="needs a name"):
        colours.register("", "#000")


def test_heavy_entries_are_named_and_imported_when_used():
    assert import_object("odbench.encoders.mock:MockEncoder").__name__ == "MockEncoder"
    assert import_object("os.path:join")("a", "b") == "a/b"
    with pytest.raises(ValueError, match="expected 'module:object'"):
        import_object("odbench.encoders.mock")
