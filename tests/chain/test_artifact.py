"""The committed TaskMarket artifact is complete, pinned, fresh, shipped in the wheel, and guarded against staleness."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cipherquorum.chain.artifact import (
    ContractArtifact,
    check_artifact_fresh,
    load_artifact,
    parse_artifact,
    read_artifact,
)
from cipherquorum.exceptions import ArtifactError

REPO_ROOT = Path(__file__).parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
ARTIFACT_PATH = CONTRACTS_DIR / "TaskMarket.json"
SOURCE_PATH = CONTRACTS_DIR / "TaskMarket.sol"

ARTIFACT_KEYS = ["contractName", "abi", "bytecode", "deployedBytecode", "compiler", "settings", "sourceSha256"]

# The ABI the Python binding is written against: every entry must exist with exactly these input types.
EXPECTED_ABI = [
    ("function", "register(uint32,uint256)"),
    ("function", "addStake()"),
    ("function", "requestExit()"),
    ("function", "exit()"),
    ("function", "withdraw(uint256)"),
    ("function", "withdrawable(address)"),
    ("function", "createTask(bytes32,bytes32,uint8,uint8,uint64,uint64,uint64)"),
    ("function", "matchPending(uint256)"),
    ("function", "commit(uint256,bytes32)"),
    ("function", "reveal(uint256,bytes32,uint8,bytes32,bytes32)"),
    ("function", "finalize(uint256)"),
    ("function", "computeSeal(uint256,bytes32,uint8,address,bytes32)"),
    ("function", "getNode(address)"),
    ("function", "getTask(uint256)"),
    ("function", "getAssignment(uint256)"),
    ("function", "getVotes(uint256)"),
    ("function", "getProof(uint256)"),
    ("function", "taskCount()"),
    ("function", "nodeCount()"),
    ("function", "nodeAt(uint256)"),
    ("function", "pendingCount()"),
    ("function", "liabilitiesWei()"),
    ("function", "totalStakesWei()"),
    ("function", "totalEscrowWei()"),
    ("function", "totalWithdrawableWei()"),
    ("function", "minStakeWei()"),
    ("function", "slashWei()"),
    ("function", "exitCooldownS()"),
    ("event", "NodeRegistered(address,uint256,uint32,uint256)"),
    ("event", "StakeAdded(address,uint256,uint256)"),
    ("event", "ExitRequested(address,uint64)"),
    ("event", "NodeExited(address,uint256)"),
    ("event", "Withdrawn(address,uint256)"),
    ("event", "TaskCreated(uint256,address,bytes32,bytes32,uint8,uint8,uint256)"),
    ("event", "TaskQueued(uint256)"),
    ("event", "NodeAssigned(uint256,address)"),
    ("event", "TaskMatched(uint256,address[],uint64,uint64)"),
    ("event", "Committed(uint256,address,bytes32)"),
    ("event", "AllCommitted(uint256)"),
    ("event", "Revealed(uint256,address,bytes32,uint8,bytes32)"),
    ("event", "Rewarded(uint256,address,uint256)"),
    ("event", "Slashed(uint256,address,uint256,uint8)"),
    ("event", "Refunded(uint256,address,uint256)"),
    ("event", "TaskCompleted(uint256,bytes32,uint8,bytes32,address[])"),
    ("event", "TaskFailed(uint256,uint256)"),
]

EXPECTED_ERRORS = [
    "StakeBelowMinimum", "AlreadyRegistered", "NotRegistered", "InvalidCapacity", "TooManyNodes",
    "InvalidReplication", "InvalidQuorum", "InvalidEscrow", "InvalidWindow", "UnknownTask", "WrongState",
    "NotAssigned", "CommitClosed", "AlreadyCommitted", "RevealNotOpen", "RevealClosed", "NotCommitted",
    "AlreadyRevealed", "BadSeal", "InvalidStatus", "FinalizeTooEarly", "NotFinalized", "ExitNotRequested",
    "ExitAlreadyRequested", "CooldownNotOver", "NodeBusy", "InsufficientBalance", "TransferFailed",
    "ReentrantCall", "InvalidPrice",
]

# Field names of the structs the views return, in order (web3 decodes them as tuples in this order).
EXPECTED_VIEW_FIELDS = [
    ("getNode", ["stakeWei", "priceWei", "capacity", "activeTasks", "exitRequestedAt", "registered"]),
    ("getTask", [
        "client", "programId", "manifestRef", "replication", "quorum", "state", "rewardPerNodeWei", "createdAt",
        "matchedAt", "commitDeadline", "revealDeadline", "commitWindowS", "revealWindowS", "timeLimitS",
        "commitCount", "revealCount",
    ]),
    ("getVotes", ["node", "committed", "revealed", "seal", "resultHash", "status", "resultRef"]),
    ("getProof", ["programId", "manifestRef", "resultHash", "status", "resultRef", "agreeing", "finalizedBlock"]),
]


def _abi_signatures(artifact: ContractArtifact) -> set[tuple[str, str]]:
    return {
        (entry["type"], f'{entry["name"]}({",".join(arg["type"] for arg in entry["inputs"])})')
        for entry in artifact.abi
        if entry["type"] in ("function", "event", "error")
    }


def _abi_entry(artifact: ContractArtifact, kind: str, name: str) -> dict:
    return next(entry for entry in artifact.abi if entry["type"] == kind and entry.get("name") == name)


def _valid_artifact_json() -> dict:
    return json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))


def test_packaged_artifact_was_compiled_from_the_packaged_source() -> None:
    """The packaged TaskMarket.json records the sha256 of the packaged TaskMarket.sol."""
    check_artifact_fresh()


def test_artifact_file_has_every_field_in_a_stable_order() -> None:
    """TaskMarket.json holds exactly the documented keys, in order, with 2-space indent and a trailing newline."""
    text = ARTIFACT_PATH.read_text(encoding="utf-8")
    raw = json.loads(text)
    assert list(raw) == ARTIFACT_KEYS
    assert raw["contractName"] == "TaskMarket"
    assert text == json.dumps(raw, indent=2, ensure_ascii=False) + "\n"


def test_artifact_pins_compiler_evm_version_and_optimizer() -> None:
    """The artifact was built by solc 0.8.28 for the cancun EVM with the optimizer at 200 runs."""
    artifact = load_artifact()
    assert artifact.compiler.startswith("0.8.28+commit.")
    assert artifact.settings["evmVersion"] == "cancun"
    assert artifact.settings["optimizer"] == {"enabled": True, "runs": 200}
    assert artifact.bytecode.startswith("0x") and artifact.deployed_bytecode.startswith("0x")
    assert artifact.deployed_bytecode[2:] in artifact.bytecode


def test_loader_caches_the_artifact() -> None:
    """Loading twice returns the same object rather than reading the file again."""
    assert load_artifact() is load_artifact()


@pytest.mark.parametrize(("kind", "signature"), EXPECTED_ABI)
def test_abi_declares_the_agreed_entry(kind: str, signature: str) -> None:
    """Every function and event the binding relies on exists with the agreed argument types."""
    assert (kind, signature) in _abi_signatures(load_artifact())


@pytest.mark.parametrize("name", EXPECTED_ERRORS)
def test_abi_declares_the_custom_error_with_named_arguments(name: str) -> None:
    """Every custom error the binding maps to an exception exists, and all its arguments have names."""
    entry = _abi_entry(load_artifact(), "error", name)
    assert all(arg["name"] for arg in entry["inputs"])


@pytest.mark.parametrize(("view", "fields"), EXPECTED_VIEW_FIELDS)
def test_view_returns_a_struct_with_the_agreed_fields(view: str, fields: list[str]) -> None:
    """The struct a view returns has the agreed field names in the agreed order."""
    (output,) = _abi_entry(load_artifact(), "function", view)["outputs"]
    assert [component["name"] for component in output["components"]] == fields


def test_modified_source_is_detected_as_stale(tmp_path: Path) -> None:
    """A source that differs from the one compiled by a single byte makes the freshness check fail with both hashes."""
    modified = tmp_path / "TaskMarket.sol"
    modified.write_bytes(SOURCE_PATH.read_bytes() + b"\n// edited\n")
    with pytest.raises(ArtifactError, match="stale") as caught:
        check_artifact_fresh(source_path=modified, artifact_path=ARTIFACT_PATH)
    message = str(caught.value)
    assert load_artifact().source_sha256 in message
    assert hashlib.sha256(modified.read_bytes()).hexdigest() in message


def test_unmodified_source_copy_is_fresh(tmp_path: Path) -> None:
    """A byte-identical copy of the source passes the freshness check against the committed artifact."""
    copy = tmp_path / "TaskMarket.sol"
    shutil.copyfile(SOURCE_PATH, copy)
    check_artifact_fresh(source_path=copy, artifact_path=ARTIFACT_PATH)


def _without(key: str) -> str:
    raw = _valid_artifact_json()
    del raw[key]
    return json.dumps(raw)


def _with(key: str, value: object) -> str:
    raw = _valid_artifact_json()
    raw[key] = value
    return json.dumps(raw)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        (lambda: _without("abi"), "lacks field"),
        (lambda: _without("sourceSha256"), "lacks field"),
        (lambda: _with("abi", {"type": "function"}), '"abi" must be a list'),
        (lambda: _with("bytecode", "6080"), '"bytecode" must be'),
        (lambda: _with("deployedBytecode", "0xnothex"), '"deployedBytecode" must be'),
        (lambda: _with("bytecode", "0x"), '"bytecode" must be'),
        (lambda: _with("compiler", ""), '"compiler" must be'),
        (lambda: _with("settings", []), '"settings" must be'),
    ],
)
def test_malformed_artifact_is_rejected(text: object, verdict: str) -> None:
    """An artifact that is not JSON, lacks a field or has one of the wrong type raises ArtifactError saying which."""
    source = text() if callable(text) else text
    with pytest.raises(ArtifactError, match=verdict):
        parse_artifact(source, origin="test.json")


def test_missing_artifact_file_raises_artifact_error(tmp_path: Path) -> None:
    """Reading an artifact that does not exist raises ArtifactError naming the path."""
    missing = tmp_path / "TaskMarket.json"
    with pytest.raises(ArtifactError, match="cannot be read"):
        read_artifact(missing)


def test_missing_source_file_raises_artifact_error(tmp_path: Path) -> None:
    """Checking freshness against a source that does not exist raises ArtifactError, not OSError."""
    with pytest.raises(ArtifactError, match="cannot be read"):
        check_artifact_fresh(source_path=tmp_path / "absent.sol", artifact_path=ARTIFACT_PATH)


_IGNORE_ANYWHERE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
)
_IGNORE_AT_TOP = {"build", "dist", "cq-data", "reports"}
"""Run outputs at the top of the tree (cipherquorum/reports is a package, not one of them)."""


def _build_ignore(folder: str, names: list[str]) -> set[str]:
    ignored = set(_IGNORE_ANYWHERE(folder, names))
    if Path(folder) == REPO_ROOT:
        ignored |= _IGNORE_AT_TOP & set(names)
    return ignored

_LOADER_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import cipherquorum
from cipherquorum.chain.artifact import check_artifact_fresh, load_artifact
check_artifact_fresh()
print(cipherquorum.__file__)
print(load_artifact().source_sha256)
"""


def test_wheel_ships_the_artifact_and_the_loader_reads_it_from_there(tmp_path: Path) -> None:
    """A wheel of the project contains TaskMarket.json and .sol, and the loader finds them in the unpacked wheel."""
    # Build from a copy so the test never writes build/ or egg-info into the working tree.
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT, project, ignore=_build_ignore)
    wheel_dir = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir),
         str(project)],
        check=True, capture_output=True, timeout=120,
    )
    (wheel,) = wheel_dir.glob("cipherquorum-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"cipherquorum/contracts/TaskMarket.json", "cipherquorum/contracts/TaskMarket.sol"} <= names
        unpacked = tmp_path / "unpacked"
        archive.extractall(unpacked)

    probe = subprocess.run(
        [sys.executable, "-c", _LOADER_PROBE, str(unpacked)],
        check=True, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    package_file, sha256 = probe.stdout.split()
    assert Path(package_file).is_relative_to(unpacked)
    assert sha256 == load_artifact().source_sha256


def _solc_js_installed() -> bool:
    return shutil.which("node") is not None and (CONTRACTS_DIR / "node_modules" / "solc").is_dir()


@pytest.mark.skipif(not _solc_js_installed(), reason="needs node and `npm ci` in contracts/")
def test_committed_artifact_matches_a_fresh_compile() -> None:
    """Recompiling TaskMarket.sol with the pinned solc-js reproduces the committed artifact."""
    result = subprocess.run(
        ["node", "compile.js", "--check"], cwd=CONTRACTS_DIR, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
