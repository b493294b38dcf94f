"""The single entry point compute nodes call: run a program on input bytes and report status and result hash."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import CipherQuorumError, ValidationError
from cipherquorum.fhe.ciphertext import Ciphertext, result_hash
from cipherquorum.fhe.deadline import Deadline
from cipherquorum.fhe.evaluator import Evaluator
from cipherquorum.fhe.keys import KeyBundle
from cipherquorum.fhe.programs.base import Params
from cipherquorum.fhe.programs.registry import get_program
from cipherquorum.protocol import status_for_error
from cipherquorum.types import ZERO_HASH, ExecStatus, Hash32


@dataclass(frozen=True)
class ExecutionOutcome:
    """What a node commits to: a status, the result ciphertexts and their hash (ZERO_HASH unless SUCCESS).

    ``detail`` is for people (the error, or a one-line summary); consensus never looks at it.
    """

    status: ExecStatus
    outputs: tuple[Ciphertext, ...]
    result_hash: Hash32
    detail: str

    @property
    def succeeded(self) -> bool:
        """Whether the program ran to the end."""
        return self.status == ExecStatus.SUCCESS

    def output_bytes(self) -> tuple[bytes, ...]:
        """The outputs' wire encodings, as stored and as ``execute`` takes inputs."""
        return tuple(ct.to_bytes() for ct in self.outputs)

    @classmethod
    def failure(cls, status: ExecStatus, detail: str) -> ExecutionOutcome:
        """The outcome of a task that could not run: no outputs, and consensus is on the status alone."""
        return cls(status=status, outputs=(), result_hash=ZERO_HASH, detail=detail)


def execute(
    program_ref: str,
    bundle: KeyBundle | Evaluator,
    inputs: Sequence[bytes],
    params: Params,
    time_limit_s: float,
) -> ExecutionOutcome:
    """Run ``program_ref`` on the wire-encoded input ciphertexts under ``bundle`` (or a cached evaluator).

    Never raises for anything the task brings: an unknown program gives PROGRAM_UNKNOWN; a key bundle that
    does not load, an undecodable or foreign ciphertext, bad params or an unsupported preset give
    INPUT_INVALID; running past ``time_limit_s`` (counted from when the keys are loaded) gives TIMEOUT, and the
    process carries on; any other failure gives EXECUTION_ERROR.
    """
    try:
        program = get_program(program_ref)
    except ValidationError as exc:
        return ExecutionOutcome.failure(status_for_error(exc), str(exc))
    started_s = time.monotonic()
    try:
        evaluator = bundle if isinstance(bundle, Evaluator) else Evaluator.from_bundle(bundle)
        deadline = Deadline(time_limit_s)
        envelopes = []
        for index, data in enumerate(inputs):
            deadline.check(f"decoding input {index}")
            envelopes.append(Ciphertext.from_bytes(data))
        outputs = tuple(program.run(evaluator, envelopes, params, deadline))
    except CipherQuorumError as exc:  # timeouts and inputs that are not what the task calls for
        return ExecutionOutcome.failure(status_for_error(exc), f"{program.ref}: {exc}")
    except Exception as exc:  # the status names the failure; the node must carry on
        return ExecutionOutcome.failure(status_for_error(exc), f"{program.ref}: {type(exc).__name__}: {exc}")
    elapsed_s = time.monotonic() - started_s
    return ExecutionOutcome(
        status=ExecStatus.SUCCESS,
        outputs=outputs,
        result_hash=result_hash(outputs),
        detail=f"{program.ref} on {len(inputs)} inputs gave {len(outputs)} outputs in {elapsed_s:.3f} s",
    )
