"""How a compute node behaves: honest, or one of the byzantine ways a scenario can choose."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from cipherquorum.fhe import Deadline, Evaluator, ExecutionOutcome, result_hash
from cipherquorum.protocol import BehaviourName, behaviour_named
from cipherquorum.types import ExecStatus, TextEnum


class Tamper(TextEnum):
    """How a byzantine node changes an honest result."""

    NONE = ""
    RANDOM = "random"
    """A plausible but different ciphertext of its own."""
    SHARED = "shared"
    """A wrong result that every colluder derives identically."""


@dataclass(frozen=True)
class Behaviour:
    """The decisions a compute node makes that honest and byzantine nodes make differently.

    ``computes``: the node runs the program (a lazy node does not; it copies a peer's commitment).
    ``crashes``: the node's process dies after fetching the task's inputs.
    ``late``: the node waits past the commit deadline before committing.
    ``tamper``: how the node changes an honest result, if it does.
    """

    name: BehaviourName
    computes: bool = True
    crashes: bool = False
    late: bool = False
    tamper: Tamper = Tamper.NONE

    @property
    def byzantine(self) -> bool:
        """True for every behaviour but honest."""
        return self.name is not BehaviourName.HONEST


TAMPER_SLOTS = 4
"""How many leading result slots a tampering node shifts."""

BEHAVIOURS: dict[BehaviourName, Behaviour] = {
    BehaviourName.HONEST: Behaviour(BehaviourName.HONEST),
    BehaviourName.WRONG: Behaviour(BehaviourName.WRONG, tamper=Tamper.RANDOM),
    BehaviourName.LAZY: Behaviour(BehaviourName.LAZY, computes=False),
    BehaviourName.CRASH: Behaviour(BehaviourName.CRASH, crashes=True),
    BehaviourName.SLOW: Behaviour(BehaviourName.SLOW, late=True),
    BehaviourName.COLLUDING: Behaviour(BehaviourName.COLLUDING, tamper=Tamper.SHARED),
}


def behaviour_of(name: str) -> Behaviour:
    """The decisions of the behaviour called ``name``; raises ValidationError listing the known ones."""
    return BEHAVIOURS[behaviour_named(name)]


def tamper_outcome(behaviour: Behaviour, outcome: ExecutionOutcome, evaluator: Evaluator,
                   entropy: bytes) -> ExecutionOutcome:
    """Return the result a byzantine node reports instead of the honest ``outcome``.

    Both tampers add a plaintext vector to the first output, giving a valid ciphertext under the task's keys
    that decrypts to a plausible but wrong value. A RANDOM tamper adds small values drawn from ``entropy``
    (distinct per node and task); a SHARED tamper adds ones, which every colluder computes the same.
    """
    if not behaviour.tamper or outcome.status is not ExecStatus.SUCCESS or not outcome.outputs:
        return outcome
    if behaviour.tamper is Tamper.RANDOM:
        digest = hashlib.sha256(entropy).digest()
        offset = [digest[i] % 7 + 1 for i in range(TAMPER_SLOTS)]
    else:
        offset = [1] * TAMPER_SLOTS
    ops = evaluator.ops(Deadline.unlimited())
    wrong = ops.dump(ops.add_plain(ops.load(outcome.outputs[0]), offset, "tamper offset"))
    outputs = (wrong, *outcome.outputs[1:])
    return replace(outcome, outputs=outputs, result_hash=result_hash(outputs))
