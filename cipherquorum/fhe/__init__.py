"""The FHE layer over Pyfhel: presets, key bundles, ciphertext envelopes, result hashes and the program registry."""
from __future__ import annotations

from .ciphertext import Ciphertext, check_ciphertext, result_hash
from .deadline import Deadline
from .evaluator import CipherOps, Encryptor, Evaluator
from .execute import ExecutionOutcome, execute
from .keys import KeyBundle, KeyNeeds
from .owner import SecretKeyOwner
from .presets import PRESETS, FhePreset, get_preset
from .program import Program
from .programs_aggregate import MeanResult, VarianceResult
from .registry import PROGRAMS, get_program, list_programs, program_by_id, program_id

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
