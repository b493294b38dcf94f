"""The one TOML reader of the settings files: a file read into a document, and tables read strictly from it."""
from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from cipherquorum.exceptions import ScenarioError
from cipherquorum.protocol import UINT256_MAX

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found]  # mypy checks as 3.10; tomli is not in this venv

T = TypeVar("T")
Document = dict[str, Any]
"""A parsed TOML file: tables as dicts, arrays as lists."""

ETHER_WEI = 10**18
_WEI_DECIMALS = {"wei": 0, "gwei": 9, "ether": 18, "eth": 18}
"""Each unit an amount may name, as the power of ten of wei it stands for."""
_UINT256_DIGITS = len(str(UINT256_MAX))
SHOWN_CHARS = 80
"""Longest a value is shown in an error message, so that the message stays one short line."""
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_NESTING = 32
"""Most levels of tables and arrays a settings file may nest (a scenario needs six: studies, questions, options)."""


def read_toml_file(path: str | Path) -> tuple[Document, str]:
    """Read and parse the TOML file at ``path``; return the document and the source name errors use.

    Raises ScenarioError naming the file when it is missing, unreadable or not valid TOML.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: no such scenario file") from None
    except (OSError, ValueError) as exc:  # ValueError: not UTF-8, or a NUL in the path
        raise ScenarioError(f"{source}: cannot read scenario file: {exc}") from None
    too_deep = ScenarioError(f"{source}: not valid TOML: arrays or tables nested more than {MAX_NESTING} levels deep")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # how deep tomllib gets depends on the recursion limit; the rule below does not
        raise too_deep from None
    except ValueError:  # the one other failure: an integer of more digits than Python converts
        raise ScenarioError(f"{source}: not valid TOML: an integer too long to read (integers hold at most "
                            f"{sys.get_int_max_str_digits()} digits)") from None
    if _nesting(document) > MAX_NESTING:
        raise too_deep
    return document, source


def _nesting(document: Document) -> int:
    """How many tables and arrays deep ``document`` goes (itself included), found without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def describe_value(value: object) -> str:
    """``repr(value)`` cut to SHOWN_CHARS characters; an integer past 256 bits is named by its size instead."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"an integer of {value.bit_length()} bits"
    try:
        shown = repr(value)
    except (RecursionError, ValueError):
        return f"a {type(value).__name__} too large to show"
    return shown if len(shown) <= SHOWN_CHARS else shown[:SHOWN_CHARS - 3] + "..."


def _key_name(key: object) -> str:
    return key if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) else describe_value(key)


def field_error(source: str, field: str, message: str) -> ScenarioError:
    """The error for ``field`` (a dotted path such as ``market.quorum``; empty: the top level) of ``source``."""
    return ScenarioError(f"{source}: {field or 'top level'}: {message}")


class TableReader:
    """Reads one TOML table strictly: every key is known, every value typed, errors name the field path.

    Each getter marks its key as known; ``finish()`` then refuses any key no getter asked for. ``path`` is the
    table's dotted path in the file (empty for the top level), ``source`` the file's name.
    """

    def __init__(self, source: str, path: str, table: object) -> None:
        self._source = source
        self._path = path
        if not isinstance(table, Mapping):
            raise self.error(f"must be a table (got {type(table).__name__} {describe_value(table)})")
        self._table: Mapping[str, Any] = table
        self._used: set[str] = set()

    @property
    def source(self) -> str:
        """The name of the file the table comes from."""
        return self._source

    def error(self, message: str, key: str | None = None) -> ScenarioError:
        """A ScenarioError for ``key`` (a key or a dotted path below this table; None: the table itself)."""
        return field_error(self._source, self._sub(key) if key else self._path, message)

    def has(self, key: str) -> bool:
        """Whether the table sets ``key``; asking makes ``key`` a known field, as a getter does."""
        self._used.add(key)
        return key in self._table

    def string(self, key: str, default: str | None = None, choices: tuple[str, ...] = ()) -> str:
        """A string, required when ``default`` is None, and one of ``choices`` when there are any."""
        value: str = self._get(key, str, default)
        if choices and value not in choices:
            raise self.error(f"must be one of {', '.join(choices)} (got {describe_value(value)})", key)
        return value

    def integer(self, key: str, default: int | None = None, minimum: int | None = None,
                maximum: int | None = None) -> int:
        """An integer (not a boolean), required when ``default`` is None, within ``minimum`` and ``maximum``.

        No setting takes more than 256 bits, so a larger integer is refused whatever the bounds.
        """
        value: int = self._get(key, int, default)
        if abs(value) > UINT256_MAX:
            raise self.error(f"must be at most 2**256 - 1 in size (got {describe_value(value)})", key)
        if minimum is not None and value < minimum:
            raise self.error(f"must be >= {minimum} (got {value})", key)
        if maximum is not None and value > maximum:
            raise self.error(f"must be <= {maximum} (got {value})", key)
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool:
        """A boolean, required when ``default`` is None."""
        value: bool = self._get(key, bool, default)
        return value

    def number(self, key: str, default: float | None = None) -> float:
        """An integer or a float (not a boolean) as a float, required when ``default`` is None."""
        value = self._get(key, (int, float), default)
        try:
            return float(value)
        except OverflowError:  # an integer past the largest float
            raise self.error(f"must be a number a float can hold (got {describe_value(value)})", key) from None

    def wei(self, key: str, default: int, maximum: int = UINT256_MAX) -> int:
        """An amount of wei: an integer, or a string such as "1.5 ether", "20 gwei" or "12345", at most ``maximum``."""
        self._used.add(key)
        if key not in self._table:
            return default
        try:
            value = parse_wei(self._table[key])
        except ValueError as exc:
            raise self.error(str(exc), key) from None
        if value > maximum:
            raise self.error(f"must be <= {maximum} wei (got {value})", key)
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """An array of strings as a tuple."""
        value = self._get(key, list, list(default))
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"item {index} must be a string (got {describe_value(item)})", key)
        return tuple(value)

    def integers(self, key: str, default: tuple[int, ...] = (), minimum: int | None = None,
                 maximum: int | None = None) -> tuple[int, ...]:
        """An array of integers (not booleans) as a tuple, each within ``minimum`` and ``maximum``."""
        value = self._get(key, list, list(default))
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, int):
                raise self.error(f"item {index} must be an integer (got {describe_value(item)})", key)
            if (minimum is not None and item < minimum) or (maximum is not None and item > maximum):
                raise self.error(f"item {index} must be in [{minimum}, {maximum}] (got {item})", key)
        return tuple(value)

    def table(self, key: str) -> TableReader:
        """A reader of the sub-table ``key`` (an empty one when the table does not set it)."""
        self._used.add(key)
        return TableReader(self._source, self._sub(key), self._table.get(key, {}))

    def section(self, key: str, build: Callable[[TableReader], T]) -> T:
        """What ``build`` makes of the sub-table ``key``; then refuses the keys ``build`` did not read."""
        sub = self.table(key)
        value = build(sub)
        sub.finish()
        return value

    def tables(self, key: str, required: bool = False) -> list[TableReader]:
        """Readers of the array of tables ``key`` ([[key]]), which must not be empty when ``required``."""
        self._used.add(key)
        value = self._table.get(key, [])
        if not isinstance(value, list) or (required and not value):
            raise self.error("must be a non-empty array of tables ([[...]])" if required
                             else "must be an array of tables ([[...]])", key)
        return [TableReader(self._source, f"{self._sub(key)}[{i}]", item) for i, item in enumerate(value)]

    def finish(self) -> None:
        """Raise ScenarioError naming the table's keys that no getter asked for, and the known ones."""
        unknown = sorted(set(self._table) - self._used)
        if unknown:
            known = f" (known: {', '.join(sorted(self._used))})" if self._used else ""
            shown = ", ".join(_key_name(key) for key in unknown[:8]) + (", ..." if len(unknown) > 8 else "")
            raise self.error(f"unknown field(s): {shown}{known}")

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self._used.add(key)
        if key not in self._table:
            if default is None:
                raise self.error("is required", key)
            return default
        value = self._table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(f"must be {_kind_name(kinds)} (got {value!r})", key)
        if not isinstance(value, kinds):
            raise self.error(f"must be {_kind_name(kinds)} (got {type(value).__name__} {describe_value(value)})", key)
        return value

    def _sub(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {int: "an integer", str: "a string", list: "an array", bool: "a boolean", float: "a number"}
    if float in kinds:  # "a number" covers the integers too
        kinds = tuple(k for k in kinds if k is not int)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def parse_wei(value: object) -> int:
    """Return wei from an int or a string like ``"0.5 ether"``; raises ValueError naming the value.

    An amount is a whole number of wei in [0, 2**256 - 1], what the contract's uint256 holds. It is computed
    exactly (no rounding, however many digits), and an exponent such as ``1e999999999`` is refused from its
    size, without building the number.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be an amount of wei (got {value!r})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"must be >= 0 wei (got {describe_value(value)})")
        if value > UINT256_MAX:
            raise ValueError(f"must be at most 2**256 - 1 wei, what a uint256 holds (got {describe_value(value)})")
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be an integer or a string like \"0.5 ether\" (got {describe_value(value)})")
    number, _, unit = value.strip().partition(" ")
    decimals = _WEI_DECIMALS.get(unit.strip().lower() or "wei")
    if decimals is None:
        raise ValueError(f"unknown unit {describe_value(unit)} in {describe_value(value)} "
                         f"(known: {', '.join(_WEI_DECIMALS)})")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"must be an amount like \"0.5 ether\" (got {describe_value(value)})") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"must be a whole, non-negative number of wei (got {describe_value(value)})")
    return _whole_wei(amount, decimals, value)


def _whole_wei(amount: Decimal, decimals: int, value: str) -> int:
    """``amount`` x 10**decimals as an int, exactly; raises ValueError if it is not whole or past uint256."""
    _, digit_tuple, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # a finite Decimal's exponent
    digits = "".join(map(str, digit_tuple))
    significant = digits.rstrip("0")
    if not significant:
        return 0
    exponent += decimals + len(digits) - len(significant)
    if exponent < 0:
        raise ValueError(f"must be a whole, non-negative number of wei (got {describe_value(value)})")
    if len(significant) + exponent > _UINT256_DIGITS or int(significant) * 10**exponent > UINT256_MAX:
        raise ValueError(f"must be at most 2**256 - 1 wei, what a uint256 holds (got {describe_value(value)})")
    return int(significant) * 10**exponent


__all__ = [
    "ETHER_WEI",
    "MAX_NESTING",
    "SHOWN_CHARS",
    "Document",
    "TableReader",
    "describe_value",
    "field_error",
    "parse_wei",
    "read_toml_file",
]
