"""tools/sizes.py, the size check of `make lint` (issue 16.4), on a tiny tree of its own."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "sizes", Path(__file__).resolve().parent.parent / "tools" / "sizes.py"
)
assert _SPEC and _SPEC.loader
sizes = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sizes)


def _function(name: str, body_lines: int, indent: str = "") -> str:
    """A function of exactly 1 + body_lines lines, its def line included."""
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}@decorated\n{indent}def {name}():\n{body}"


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in sizes.PACKAGES:
        _write(tmp_path, f"{package}/__init__.py", "")
    return tmp_path


def test_a_tree_within_the_limits_passes(tree):
    _write(tree, "homecare/ok.py", _function("sixty", 59) + "\n" + "pass\n" * 338)
    assert len((tree / "homecare/ok.py").read_text().splitlines()) == 400
    assert sizes.check(tree, allowed={}) == []


def test_a_function_of_61_lines_is_found_wherever_it_hides(tree):
    _write(tree, "facilities/top.py", _function("long", 60))
    _write(tree, "dynamic/cls.py", "class Page:\n" + _function("render", 60, indent="    "))
    _write(
        tree,
        "eldercare/people/nested.py",
        "def outer():\n" + _function("inner", 60, indent="    "),
    )
    problems = sizes.check(tree, allowed={})
    assert problems == [
        "eldercare/people/nested.py:1: outer is 63 lines (at most 60)",
        "eldercare/people/nested.py:3: outer.inner is 61 lines (at most 60)",
        "dynamic/cls.py:3: Page.render is 61 lines (at most 60)",
        "facilities/top.py:2: long is 61 lines (at most 60)",
    ]


def test_a_file_of_401_lines_is_found_and_migrations_are_not_counted(tree):
    _write(tree, "intake/big.py", "pass\n" * 401)
    _write(tree, "intake/migrations/versions/big.py", "pass\n" * 900 + _function("up", 90))
    assert sizes.check(tree, allowed={}) == ["intake/big.py: 401 lines (at most 400)"]


def test_the_allowlist_excuses_only_what_it_names(tree):
    _write(tree, "eldercare/data.py", "pass\n" * 500 + _function("table", 80))
    _write(tree, "homecare/two.py", _function("named", 61) + _function("other", 61))
    allowed = {"eldercare/data.py": "declarative data", "homecare/two.py:named": "being split"}
    assert sizes.check(tree, allowed=allowed) == [
        "homecare/two.py:65: other is 62 lines (at most 60)"
    ]


def test_main_fails_on_a_long_function(tree, capsys):
    _write(tree, "homecare/long.py", _function("long", 61))
    assert sizes.main(["sizes.py", str(tree)]) == 1
    assert "homecare/long.py:2: long is 62 lines" in capsys.readouterr().out
