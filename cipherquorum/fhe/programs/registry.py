"""The registry of FHE programs by "name@version", and their on-chain ids (keccak256 of the ref)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from eth_hash.auto import keccak

from cipherquorum.exceptions import UnknownProgram
from cipherquorum.fhe.programs.aggregate import HistogramProgram, MeanProgram, SumProgram, VarianceProgram
from cipherquorum.fhe.programs.auth import PinMaskProgram, ProfileMatchProgram
from cipherquorum.fhe.programs.base import Program
from cipherquorum.fhe.programs.joint import JointMomentsProgram
from cipherquorum.fhe.programs.layers import PackedLayersProgram
from cipherquorum.fhe.programs.ml import LinearSquareProgram
from cipherquorum.fhe.programs.psi import PsiProgram
from cipherquorum.fhe.programs.scoring import PinChallengeProgram, WeightedScoreProgram
from cipherquorum.types import Hash32

_REF = re.compile(r"([a-z][a-z0-9_]*)@([1-9][0-9]*)")

PROGRAMS: Mapping[str, Program] = MappingProxyType({
    program.ref: program
    for program in (
        SumProgram(),
        MeanProgram(),
        HistogramProgram(),
        VarianceProgram(),
        WeightedScoreProgram(),
        PinChallengeProgram(),
        LinearSquareProgram(),
        PsiProgram(),
        JointMomentsProgram(),
        PackedLayersProgram(),
        PinMaskProgram(),
        ProfileMatchProgram(),
    )
})
"""Every program by its ref."""

_BY_ID: Mapping[bytes, Program] = MappingProxyType({keccak(ref.encode()): program for ref, program in PROGRAMS.items()})
"""Every program by its id."""


def list_programs() -> tuple[str, ...]:
    """Return the refs of every registered program, sorted."""
    return tuple(sorted(PROGRAMS))


def get_program(ref: str) -> Program:
    """Return the program registered as ``ref`` ("name@version").

    Raises UnknownProgram naming the ref (and saying if it is malformed) and listing the known ones.
    """
    program = PROGRAMS.get(ref) if isinstance(ref, str) else None
    if program is None:
        shape = "" if isinstance(ref, str) and _REF.fullmatch(ref) else ' (a ref is "name@version")'
        raise UnknownProgram(f"No FHE program is registered as {ref!r}{shape}; known: {', '.join(list_programs())}")
    return program


def program_id(ref: str) -> Hash32:
    """Return keccak256 of the UTF-8 ref, the id the TaskMarket contract stores (registered or not, so a
    task can name a program no node knows)."""
    return Hash32(keccak(ref.encode()))


def program_by_id(pid: bytes) -> Program:
    """Return the program whose id (as read from the chain) is ``pid``; raises UnknownProgram if none is."""
    program = _BY_ID.get(bytes(pid))
    if program is None:
        raise UnknownProgram(f"No FHE program has id 0x{bytes(pid).hex()}; known: {', '.join(list_programs())}")
    return program
