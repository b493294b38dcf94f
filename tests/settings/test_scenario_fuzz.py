"""Mutated scenario files either load or raise ScenarioError with one line naming the file: never another error.

Each case is a shipped scenario (scenarios/*.toml) mutated one to three times, either as text (a line dropped,
duplicated or renamed, a value replaced by an edge literal, a header nested, deep nesting or stray bytes put in)
or as a document (a value replaced by an edge value, a key dropped or renamed, a value wrapped in a table or an
array, an array of tables repeated) and written back as TOML. Both loaders read every file in-process.

The suite writes ``CQ_FUZZ_FILES`` files (1,000 by default) from the seed ``CQ_FUZZ_SEED``; a larger run:
``CQ_FUZZ_FILES=5000 .venv/bin/python -m pytest tests/settings/test_scenario_fuzz.py -s`` prints its counts.
"""
from __future__ import annotations

import copy
import datetime
import os
import random
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomllib

from cipherquorum.exceptions import ScenarioError
from cipherquorum.settings import load_load_scenario, load_scenario

SCENARIOS = [Path(__file__).parents[2] / "scenarios" / f"{name}.toml" for name in ("byzantine", "load", "market10k",
                                                                                    "quickstart")]
"""The run scenarios mutated, named so that a seed gives the same files however many scenarios ship."""
FILES = int(os.environ.get("CQ_FUZZ_FILES", "1000"))
SEED = os.environ.get("CQ_FUZZ_SEED", "cipherquorum-fuzz-1")
MAX_MESSAGE_CHARS = 2000
"""Longest error message the fuzz accepts as "one clear line" (the file's path included)."""

# --- edge values -------------------------------------------------------------------------------

WEI_TEXTS = ("nan ether", "inf ether", "-inf ether", "Infinity", "NaN", "sNaN", "1e999999999 ether", "1e999999999",
             "1e-999999999 ether", "1e80 ether", "1e400 ether", "1e77", "1e78", "-1 ether", "-0 ether", "0", "0x10",
             "1_000 ether", "0.000000000000000001 ether", "0.0000000000000000001 ether", "1 ETHER", "ether", " ",
             "1 ether extra", "1  ether", "79228162514.264337593543950335 ether", "1." + "0" * 5000 + " ether",
             "1" + "0" * 5000, "2 bitcoin", "\u0000 ether", "\u0661 ether")
STRINGS = ("", " ", "\u0000", "a\u0000b", "\t\n\r", "\u202e\u0301", "ünïcødé", "\U0001f4a5" * 50, "x" * 5000,
           "not a url", "http://", "https://localhost:8545", "ftp://x", "/", "..", "auto", "histogram@1", "sum@1",
           "variance@1", "honest", "choice", "number", "bfv-8192", "ckks-8192", "../../../tmp/x")
INTS = (0, -1, 1, 2, 3, 255, 256, 257, 1024, 1025, 2**16, 2**31, 2**32, 2**53 + 1, 2**62, 2**63 - 1, 2**63,
        -2**63, 2**64, 2**96, 2**255, 2**256, 10**80, 10**400)
FLOATS = (float("nan"), float("inf"), float("-inf"), -0.0, 0.5, 1e308, 2.0, 1e-320)
ARRAYS: tuple[list[Any], ...] = ([], [1], ["a"], ["a", "a"], ["a", 1], [[]], [{}], [{"count": 1}],
                                 [f"o{i}" for i in range(5000)], [f"o{i}" for i in range(1025)],
                                 [float("nan")], [True, False])
TABLES: tuple[dict[str, Any], ...] = ({}, {"a": 1}, {"": ""}, {"count": 3}, {"text": "q", "kind": "choice"},
                                      {"x": {"y": {"z": {}}}})
OTHERS = (True, False, datetime.datetime(1979, 5, 27, 7, 32, tzinfo=datetime.timezone.utc),
          datetime.date(1979, 5, 27), datetime.time(7, 32))

TEXT_LITERALS = ('"nan ether"', '"inf ether"', '"Infinity"', '"1e999999999 ether"', '"1e80 ether"', '"1e400 ether"',
                 "nan", "inf", "-inf", "+inf", "1e99999", "-0", "0", "-1", "9" * 40, "9" * 5000, "0x" + "f" * 5000,
                 "0x7fffffffffffffff", "1_000_000_000", "1000000000", "true", "1979-05-27T07:32:00Z", "07:32:00",
                 '""', '"\\u0000"', '"a\\u0000b"', '"\\U0001F4A5"', "'''multi\nline'''", "[]", "{}", "[[]]",
                 "[1, [2, [3]]]", '["a", "a"]', "{ x = 1 }", '"not a url"', "-9223372036854775808",
                 "18446744073709551616", "1e308", "1.5")

LOAD_KEYS = ("tasks", "concurrency", "arrival_rate_per_s", "ramp_s", "clients", "inputs_per_task", "live_interval_s",
             "sample_interval_s", "timeout_s", "thresholds")
THRESHOLD_KEYS = ("p50_latency_s", "p95_latency_s", "p99_latency_s", "failure_rate", "min_throughput_per_s")

# --- writing a document back as TOML -------------------------------------------------------------


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if value != value else "inf" if value == float("inf") else "-inf" if value == -float("inf") \
            else repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(document: dict[str, Any]) -> str:
    """The document as TOML text: one ``"key" = value`` line per top-level key, inline tables below."""
    return "".join(f"{_toml_string(key)} = {_toml_value(value)}\n" for key, value in document.items())


# --- mutations ---------------------------------------------------------------------------------


def _edge_value(rng: random.Random, old: Any) -> Any:
    pools: list[tuple[Any, ...]] = [STRINGS, INTS, FLOATS, ARRAYS, TABLES, OTHERS]
    if isinstance(old, str) and old.endswith("ether"):
        pools += [WEI_TEXTS] * 4
    if isinstance(old, int) and not isinstance(old, bool):
        pools += [INTS] * 3
    value = rng.choice(rng.choice(pools))
    return [*value] if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def _slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) below ``document``, depth first."""
    found: list[tuple[Any, Any]] = []
    items = document.items() if isinstance(document, dict) else enumerate(document)
    for key, value in list(items):
        found.append((document, key))
        if isinstance(value, (dict, list)) and len(value) < 100:
            found.extend(_slots(value))
    return found


def _renamed(rng: random.Random, key: str) -> str:
    return rng.choice([key + "s", key[:-1], key.upper(), "", " " + key, key + "\u0000", "ключ", "a.b", "load",
                       key.replace("_", "-"), "__proto__"])


def mutate_document(rng: random.Random, document: dict[str, Any]) -> None:
    """Apply one random change to ``document`` in place."""
    slots = _slots(document)
    container, key = rng.choice(slots)
    value = container[key]
    action = rng.randrange(9)
    if action <= 2:
        container[key] = _edge_value(rng, value)
    elif action == 3:
        del container[key]
    elif action == 4 and isinstance(container, dict):
        container[_renamed(rng, key)] = container.pop(key)
    elif action == 5:
        container[key] = rng.choice([{"x": value}, [value], {key: value} if isinstance(key, str) else [[value]]])
    elif action == 6 and isinstance(value, list) and value:
        container[key] = value * rng.choice([2, 17, 300])
    elif action == 7:
        donor, donor_key = rng.choice(slots)
        container[key] = copy.deepcopy(donor[donor_key])  # a copy: a value moved below itself would be a cycle
    else:
        table = rng.choice([c for c, _ in slots if isinstance(c, dict)] + [document])
        table[rng.choice(["extra", "load", "programs", "options", "min_value", "max_value", "rpc_url"])] = \
            _edge_value(rng, None)


def _deep(rng: random.Random) -> str:
    depth = rng.choice([100, 500, 999, 1000, 1001, 5000, 100_000])
    if rng.random() < 0.5:
        return "deep = " + "[" * depth + "]" * depth
    return "deep = " + "{a = " * depth + "1" + "}" * depth


def mutate_text(rng: random.Random, lines: list[str]) -> None:
    """Apply one random change to the file's ``lines`` in place."""
    index = rng.randrange(len(lines))
    line = lines[index]
    key, sep, _ = line.partition(" = ")
    action = rng.randrange(8)
    if action <= 2 and sep:
        lines[index] = f"{key} = {rng.choice(TEXT_LITERALS)}"
    elif action == 3:
        del lines[index]
    elif action == 4:
        lines.insert(index, line)
    elif action == 5 and sep:
        lines[index] = f"{_toml_string(_renamed(rng, key.strip()))} = {line.partition(' = ')[2]}"
    elif action == 6 and line.startswith("["):
        name = line.strip("[]")
        lines[index] = rng.choice([f"[{name}.extra]", f"[[{name}]]", f"[{name}]", f"[run.{name}]", f"[{name}"])
    else:
        literal = rng.choice(TEXT_LITERALS)
        lines.insert(index, rng.choice([_deep(rng), "\u0000", "\ufeffx = 1", "\r", "[", "=", "x = ", "[load]",
                                        f"[load]\n{rng.choice(LOAD_KEYS)} = {literal}",
                                        f"[load.thresholds]\n{rng.choice(THRESHOLD_KEYS)} = {literal}"]))


def mutated_file(rng: random.Random) -> bytes:
    """One mutated scenario file, as the bytes to write."""
    source = rng.choice(SCENARIOS)
    text = source.read_text(encoding="utf-8")
    if rng.random() < 0.5:
        document = tomllib.loads(text)
        for _ in range(rng.randint(1, 3)):
            if document:
                mutate_document(rng, document)
        data = toml_document(document).encode("utf-8")
    else:
        lines = text.splitlines()
        for _ in range(rng.randint(1, 3)):
            if lines:
                mutate_text(rng, lines)
        data = "\n".join(lines).encode("utf-8")
    if rng.random() < 0.02:
        data = data.replace(b"=", b"= \xff", 1)  # not UTF-8
    return data


# --- the fuzz ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzResult:
    """The outcomes of a fuzz run by kind, and one line per read that neither loaded nor was clearly refused."""

    outcomes: Counter[str]
    crashes: list[str]


def fuzz(folder: Path, files: int, seed: str,
         loaders: tuple[Callable[[Path], object], ...] = (load_scenario, load_load_scenario)) -> FuzzResult:
    """Write ``files`` mutated scenarios under ``folder`` and read each with every loader; count the outcomes.

    An outcome is "loaded", "refused" (a ScenarioError of one line that starts with the file's path),
    "unclear message" (any other ScenarioError) or "crash <Type>" (any other exception).
    """
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    limit = sys.getrecursionlimit()
    for number in range(files):
        path = folder / f"case-{number:05d}.toml"
        path.write_bytes(mutated_file(rng))
        for load in loaders:
            try:
                load(path)
            except ScenarioError as exc:
                message = str(exc)
                clear = message.startswith(f"{path}: ") and "\n" not in message and len(message) <= MAX_MESSAGE_CHARS
                outcomes["refused" if clear else "unclear message"] += 1
                if not clear:
                    crashes.append(f"{path.name} {load.__name__}: unclear message {message[:300]!r}")
            except Exception as exc:
                outcomes[f"crash {type(exc).__name__}"] += 1
                where = traceback.extract_tb(exc.__traceback__)[-1]
                crashes.append(f"{path.name} {load.__name__}: {type(exc).__name__}: {str(exc)[:200]} "
                               f"at {Path(where.filename).name}:{where.lineno}")
            else:
                outcomes["loaded"] += 1
            assert sys.getrecursionlimit() == limit
    return FuzzResult(outcomes, crashes)


def test_every_mutated_scenario_loads_or_raises_scenario_error(tmp_path: Path) -> None:
    """Every mutated scenario file either loads or raises ScenarioError with one line naming the file."""
    result = fuzz(tmp_path, FILES, SEED)
    outcomes, crashes = result.outcomes, result.crashes
    print(f"\nfuzz: {FILES} files, seed {SEED!r}, both loaders: {dict(sorted(outcomes.items()))}")
    for line in crashes[:40]:
        print("  " + line)
    assert outcomes["loaded"] > 0 and outcomes["refused"] > outcomes["loaded"]
    assert not crashes, f"{len(crashes)} of {2 * FILES} reads did not load or raise ScenarioError; first: {crashes[0]}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_the_writer_round_trips_every_shipped_scenario(path: Path) -> None:
    """The fuzz's TOML writer writes back what tomllib read, so a mutation is the only change."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    assert tomllib.loads(toml_document(document)) == document
