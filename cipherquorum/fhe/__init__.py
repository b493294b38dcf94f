"""The FHE layer over Pyfhel: presets, key bundles, ciphertext envelopes, result hashes and the program registry."""
from __future__ import annotations

from cipherquorum.fhe.ciphertext import Ciphertext, check_ciphertext, result_hash
from cipherquorum.fhe.deadline import Deadline
from cipherquorum.fhe.evaluator import CipherOps, Encryptor, Evaluator
from cipherquorum.fhe.execute import ExecutionOutcome, execute
from cipherquorum.fhe.keys import KeyBundle, KeyNeeds
from cipherquorum.fhe.owner import SecretKeyOwner
from cipherquorum.fhe.presets import PRESETS, FhePreset, get_preset
from cipherquorum.fhe.programs.aggregate import MeanResult, VarianceResult
from cipherquorum.fhe.programs.base import Program
from cipherquorum.fhe.programs.registry import PROGRAMS, get_program, list_programs, program_by_id, program_id

__all__ = [
    "PRESETS",
    "PROGRAMS",
    "CipherOps",
    "Ciphertext",
    "Deadline",
    "Encryptor",
    "Evaluator",
    "ExecutionOutcome",
    "FhePreset",
    "KeyBundle",
    "KeyNeeds",
    "MeanResult",
    "Program",
    "SecretKeyOwner",
    "VarianceResult",
    "check_ciphertext",
    "execute",
    "get_preset",
    "get_program",
    "list_programs",
    "program_by_id",
    "program_id",
    "result_hash",
]
