"""The one TOML reader: a file becomes a document, a table is read strictly, amounts of wei are parsed."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.settings.toml import TableReader, parse_wei, read_toml_file

Refused = ScenarioError
"""A verdict of the table below: reading raises ScenarioError with "x.toml: " and exactly this message."""


def _read(table: object, read: Callable[[TableReader], object]) -> object:
    reader = TableReader("x.toml", "load", table)
    value = read(reader)
    reader.finish()
    return value


@pytest.mark.parametrize(("table", "read", "verdict"), [
    ({"n": 3}, lambda r: r.integer("n"), 3),
    ({}, lambda r: r.integer("n", 7), 7),
    ({}, lambda r: r.integer("n"), Refused("load.n: is required")),
    ({"n": "3"}, lambda r: r.integer("n"), Refused("load.n: must be an integer (got str '3')")),
    ({"n": 3.0}, lambda r: r.integer("n"), Refused("load.n: must be an integer (got float 3.0)")),
    ({"n": True}, lambda r: r.integer("n"), Refused("load.n: must be an integer (got True)")),
    ({"n": 0}, lambda r: r.integer("n", minimum=1), Refused("load.n: must be >= 1 (got 0)")),
    ({"n": 9}, lambda r: r.integer("n", maximum=8), Refused("load.n: must be <= 8 (got 9)")),
    ({"x": 2}, lambda r: r.number("x"), 2.0),
    ({"x": 1.5}, lambda r: r.number("x"), 1.5),
    ({"x": "fast"}, lambda r: r.number("x"), Refused("load.x: must be a number (got str 'fast')")),
    ({"x": False}, lambda r: r.number("x"), Refused("load.x: must be a number (got False)")),
    ({"s": "b"}, lambda r: r.string("s", choices=("a", "b")), "b"),
    ({"s": "c"}, lambda r: r.string("s", choices=("a", "b")), Refused("load.s: must be one of a, b (got 'c')")),
    ({"l": ["a", "b"]}, lambda r: r.strings("l"), ("a", "b")),
    ({"l": ["a", 1]}, lambda r: r.strings("l"), Refused("load.l: item 1 must be a string (got 1)")),
    ({"w": "1.5 ether"}, lambda r: r.wei("w", 0), 15 * 10**17),
    ({}, lambda r: r.wei("w", 5), 5),
    ({"w": "lots"}, lambda r: r.wei("w", 0), Refused("load.w: must be an amount like \"0.5 ether\" (got 'lots')")),
    ({"speed": 3}, lambda r: r.integer("tasks", 1), Refused("load: unknown field(s): speed (known: tasks)")),
    ({"b": 1, "a": 2}, lambda r: None, Refused("load: unknown field(s): a, b")),
    ({"a": 1}, lambda r: (r.has("a"), r.has("b")), (True, False)),
    ({"a": 1, "z": 2}, lambda r: r.has("a"), Refused("load: unknown field(s): z (known: a)")),
    ({"t": {"a": 1}}, lambda r: r.section("t", lambda t: t.integer("a")), 1),
    ({"t": {"a": 1, "b": 2}}, lambda r: r.section("t", lambda t: t.integer("a")),
     Refused("load.t: unknown field(s): b (known: a)")),
    ({"t": 3}, lambda r: r.table("t"), Refused("load.t: must be a table (got int 3)")),
    ({"g": [{"a": 1}, {"a": "x"}]}, lambda r: [t.integer("a") for t in r.tables("g")],
     Refused("load.g[1].a: must be an integer (got str 'x')")),
    ({}, lambda r: r.tables("g", required=True), Refused("load.g: must be a non-empty array of tables ([[...]])")),
    ({"g": {"a": 1}}, lambda r: r.tables("g"), Refused("load.g: must be an array of tables ([[...]])")),
    ([1, 2], lambda r: None, Refused("load: must be a table (got list [1, 2])")),
    # values too large for a setting, or to show in one line
    ({"n": 16**5000}, lambda r: r.integer("n"),
     Refused("load.n: must be at most 2**256 - 1 in size (got an integer of 20001 bits)")),
    ({"n": -(2**300)}, lambda r: r.integer("n", minimum=0),
     Refused("load.n: must be at most 2**256 - 1 in size (got an integer of 301 bits)")),
    ({"x": 10**400}, lambda r: r.number("x"), Refused("load.x: must be a number a float can hold "
                                                      "(got an integer of 1329 bits)")),
    ({"n": "x" * 200}, lambda r: r.integer("n"), Refused("load.n: must be an integer (got str '" + "x" * 76 + "...)")),
    ({"s": list(range(5000))}, lambda r: r.string("s"),
     Refused("load.s: must be a string (got list [" + ", ".join(map(str, range(5000)))[:76] + "...)")),
    ({"s": "z" * 200}, lambda r: r.string("s", choices=("a", "b")),
     Refused("load.s: must be one of a, b (got '" + "z" * 76 + "...)")),
    ({"a\nb": 1, "c": 2}, lambda r: r.integer("c"), Refused("load: unknown field(s): 'a\\nb' (known: c)")),
    ({"w": "2 wei"}, lambda r: r.wei("w", 0, maximum=1), Refused("load.w: must be <= 1 wei (got 2)")),
    ({"w": "1 wei"}, lambda r: r.wei("w", 0, maximum=1), 1),
])
def test_table_reader_returns_typed_values_or_names_file_field_and_value(
        table: object, read: Callable[[TableReader], object], verdict: object) -> None:
    """A getter returns the value or its default; a wrong one raises ScenarioError naming file, field and value."""
    if isinstance(verdict, Refused):
        with pytest.raises(ScenarioError) as caught:
            _read(table, read)
        assert str(caught.value) == f"x.toml: {verdict}"
    else:
        assert _read(table, read) == verdict


def test_errors_at_the_top_level_say_so() -> None:
    """A top-level table has no path: its errors say "top level", and a dotted key names the field below."""
    top = TableReader("x.toml", "", {})
    assert str(top.error("is wrong")) == "x.toml: top level: is wrong"
    assert str(top.error("is wrong", "market.quorum")) == "x.toml: market.quorum: is wrong"


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such scenario file"),
    (b"[market\nreplication = 3\n", "not valid TOML: "),
    (b"name = \"\xff\"\n", "cannot read scenario file: "),
    (b"x = " + b"[" * 32 + b"]" * 32 + b"\n", "not valid TOML: arrays or tables nested more than 32 levels deep"),
    (b"x = " + b"[" * 1000 + b"]" * 1000 + b"\n", "not valid TOML: arrays or tables nested more than 32 levels deep"),
    (b"x = " + b"{a = " * 1000 + b"1" + b"}" * 1000 + b"\n",
     "not valid TOML: arrays or tables nested more than 32 levels deep"),
    (b"x = " + b"[" * 200_000 + b"]" * 200_000 + b"\n",  # past any recursion limit: tomllib's RecursionError
     "not valid TOML: arrays or tables nested more than 32 levels deep"),
    (b"[" + b".".join(b"t%d" % i for i in range(40)) + b"]\n",
     "not valid TOML: arrays or tables nested more than 32 levels deep"),
    (b"x = " + b"9" * 5000 + b"\n", "not valid TOML: an integer too long to read (integers hold at most 4300 digits)"),
    (b"x = \"\x00\"\n", "not valid TOML: Illegal character '\\x00' (at line 1, column 6)"),
])
def test_unreadable_files_raise_scenario_error_naming_the_file(tmp_path: Path, content: bytes | None,
                                                               message: str) -> None:
    """A missing, undecodable or malformed file raises ScenarioError that starts with the file's name."""
    path = tmp_path / "bad.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ScenarioError) as caught:
        read_toml_file(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_path_no_file_can_have_raises_scenario_error(tmp_path: Path) -> None:
    """A path with a NUL character raises ScenarioError naming it, not the ValueError the OS call raises."""
    with pytest.raises(ScenarioError) as caught:
        read_toml_file(f"{tmp_path}/a\x00b.toml")
    assert str(caught.value) == f"{tmp_path}/a\x00b.toml: cannot read scenario file: embedded null byte"


def test_a_toml_file_reads_into_its_document_and_source(tmp_path: Path) -> None:
    """read_toml_file returns the parsed document and the path as the source errors name."""
    path = tmp_path / "good.toml"
    path.write_text("[market]\nreplication = 3\n", encoding="utf-8")
    assert read_toml_file(path) == ({"market": {"replication": 3}}, str(path))


@pytest.mark.parametrize(("text", "wei"), [
    (5, 5), ("5", 5), ("1 ether", 10**18), ("0.5 ether", 5 * 10**17), ("20 gwei", 20 * 10**9), ("3 wei", 3),
    ("2 ETH", 2 * 10**18), ("1e3 wei", 1000), (" 7 ", 7),
    ("123456789012345678901234567891", 123456789012345678901234567891),  # exact: no rounding to 28 digits
    ("1.234567890123456789 ether", 1234567890123456789), ("1." + "0" * 5000 + " ether", 10**18), ("-0 ether", 0),
    ("0.000 ether", 0), ("1_000 gwei", 10**12), ("1e77", 10**77), (str(2**256 - 1), 2**256 - 1),
    (2**256 - 1, 2**256 - 1),
])
def test_wei_amounts_parse(text: object, wei: int) -> None:
    """Amounts of wei are integers or strings with a unit."""
    assert parse_wei(text) == wei


@pytest.mark.parametrize(("text", "message"), [
    (-1, "must be >= 0 wei (got -1)"),
    ("1 bitcoin", "unknown unit 'bitcoin' in '1 bitcoin' (known: wei, gwei, ether, eth)"),
    ("x ether", "must be an amount like \"0.5 ether\" (got 'x ether')"),
    ("0.5 wei", "must be a whole, non-negative number of wei (got '0.5 wei')"),
    ("-1 ether", "must be a whole, non-negative number of wei (got '-1 ether')"),
    ("nan ether", "must be a whole, non-negative number of wei (got 'nan ether')"),
    ("inf", "must be a whole, non-negative number of wei (got 'inf')"),
    ("Infinity", "must be a whole, non-negative number of wei (got 'Infinity')"),
    ("-inf ether", "must be a whole, non-negative number of wei (got '-inf ether')"),
    ("sNaN", "must be a whole, non-negative number of wei (got 'sNaN')"),
    ("1e-999999999 ether", "must be a whole, non-negative number of wei (got '1e-999999999 ether')"),
    ("1e999999999 ether", "must be at most 2**256 - 1 wei, what a uint256 holds (got '1e999999999 ether')"),
    ("1e999999999", "must be at most 2**256 - 1 wei, what a uint256 holds (got '1e999999999')"),
    ("1e400 ether", "must be at most 2**256 - 1 wei, what a uint256 holds (got '1e400 ether')"),
    ("1e78", "must be at most 2**256 - 1 wei, what a uint256 holds (got '1e78')"),
    (str(2**256), f"must be at most 2**256 - 1 wei, what a uint256 holds (got '{2**256}')"),
    (2**256, "must be at most 2**256 - 1 wei, what a uint256 holds (got an integer of 257 bits)"),
    ("1" + "0" * 5000, "must be at most 2**256 - 1 wei, what a uint256 holds (got '1" + "0" * 75 + "...)"),
    ([1], "must be an integer or a string like \"0.5 ether\" (got [1])"),
    (True, "must be an amount of wei (got True)"),
    (1.5, "must be an integer or a string like \"0.5 ether\" (got 1.5)"),
])
def test_bad_wei_amounts_are_rejected(text: object, message: str) -> None:
    """Negative, fractional, infinite, unit-less garbage and non-numbers raise ValueError naming the value."""
    with pytest.raises(ValueError) as caught:
        parse_wei(text)
    assert str(caught.value) == message
