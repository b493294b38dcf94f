"""Load the committed TaskMarket compile artifact shipped as package data, and check it matches its source."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from cipherquorum.exceptions import ArtifactError

ARTIFACT_PACKAGE = "cipherquorum.contracts"
ARTIFACT_FILE = "TaskMarket.json"
SOURCE_FILE = "TaskMarket.sol"

_REQUIRED_KEYS = ("contractName", "abi", "bytecode", "deployedBytecode", "compiler", "settings", "sourceSha256")


@dataclass(frozen=True)
class ContractArtifact:
    """The TaskMarket contract as compiled by the pinned solc: ABI, bytecode and how it was built."""

    abi: tuple[Mapping[str, Any], ...]
    bytecode: str
    deployed_bytecode: str
    compiler: str
    settings: Mapping[str, Any]
    source_sha256: str


def load_artifact() -> ContractArtifact:
    """Return the packaged TaskMarket artifact (read once, then cached).

    Raises ArtifactError if the file is missing, is not JSON, or lacks a field or has one of the wrong type.
    """
    return _load_packaged_artifact()


@lru_cache(maxsize=1)
def _load_packaged_artifact() -> ContractArtifact:
    resource = resources.files(ARTIFACT_PACKAGE).joinpath(ARTIFACT_FILE)
    try:
        text = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as error:
        raise ArtifactError(
            f"contract artifact {ARTIFACT_PACKAGE}/{ARTIFACT_FILE} cannot be read ({error}); "
            "run `make contracts` to compile it"
        ) from None
    return parse_artifact(text, origin=f"{ARTIFACT_PACKAGE}/{ARTIFACT_FILE}")


def read_artifact(path: Path) -> ContractArtifact:
    """Return the artifact stored at `path`; raises ArtifactError if it is missing or malformed."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ArtifactError(f"contract artifact {path} cannot be read ({error})") from None
    return parse_artifact(text, origin=str(path))


def parse_artifact(text: str, origin: str = "<artifact>") -> ContractArtifact:
    """Return the artifact encoded in JSON `text`; raises ArtifactError naming `origin` and the bad field."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ArtifactError(f"contract artifact {origin} is not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise ArtifactError(f"contract artifact {origin} must be a JSON object (got {type(raw).__name__})")
    missing = [key for key in _REQUIRED_KEYS if key not in raw]
    if missing:
        raise ArtifactError(f"contract artifact {origin} lacks field(s) {', '.join(missing)}")
    abi = raw["abi"]
    if not isinstance(abi, list) or not all(isinstance(entry, dict) for entry in abi):
        raise ArtifactError(f'contract artifact {origin}: "abi" must be a list of objects')
    for key in ("bytecode", "deployedBytecode"):
        if not _is_hex(raw[key]):
            raise ArtifactError(f'contract artifact {origin}: "{key}" must be non-empty 0x-prefixed hex')
    for key in ("compiler", "sourceSha256"):
        if not isinstance(raw[key], str) or not raw[key]:
            raise ArtifactError(f'contract artifact {origin}: "{key}" must be a non-empty string')
    if not isinstance(raw["settings"], dict):
        raise ArtifactError(f'contract artifact {origin}: "settings" must be an object')
    return ContractArtifact(
        abi=tuple(abi),
        bytecode=raw["bytecode"],
        deployed_bytecode=raw["deployedBytecode"],
        compiler=raw["compiler"],
        settings=raw["settings"],
        source_sha256=raw["sourceSha256"],
    )


def source_sha256(source: bytes) -> str:
    """Return the lowercase hex sha256 of contract source bytes, as compile.js records it."""
    return hashlib.sha256(source).hexdigest()


def check_artifact_fresh(source_path: Path | None = None, artifact_path: Path | None = None) -> None:
    """Raise ArtifactError naming both hashes if the artifact was not compiled from the current source.

    By default checks the packaged TaskMarket.sol against the packaged TaskMarket.json; `source_path` and
    `artifact_path` check other files instead.
    """
    artifact = load_artifact() if artifact_path is None else read_artifact(artifact_path)
    if source_path is None:
        resource = resources.files(ARTIFACT_PACKAGE).joinpath(SOURCE_FILE)
        origin = f"{ARTIFACT_PACKAGE}/{SOURCE_FILE}"
        try:
            source = resource.read_bytes()
        except OSError as error:
            raise ArtifactError(f"contract source {origin} cannot be read ({error})") from None
    else:
        origin = str(source_path)
        try:
            source = Path(source_path).read_bytes()
        except OSError as error:
            raise ArtifactError(f"contract source {origin} cannot be read ({error})") from None
    actual = source_sha256(source)
    if actual != artifact.source_sha256:
        raise ArtifactError(
            f"contract artifact is stale: sha256({origin}) = {actual} but the artifact was compiled from "
            f"sourceSha256 = {artifact.source_sha256}; run `make contracts` and commit TaskMarket.json"
        )


def _is_hex(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) <= 2:
        return False
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        return False
    return True
