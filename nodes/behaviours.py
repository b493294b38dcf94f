"""How a compute node behaves: honest, or one of the byzantine ways a scenario can choose."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from cipherquorum.fhe import Deadline, Evaluator, ExecutionOutcome, result_hash
from cipherquorum.types import ExecStatus


@dataclass(frozen=True)
class Behaviour:
    """The decisions a compute node makes that honest and byzantine nodes make differently.

    ``computes``: the node runs the program (a lazy node does not; it copies a peer's commitment).
    ``crashes``: the node's process dies after fetching the task's inputs.
    ``late``: the node waits past the commit deadline before committing.
    ``tamper``: "" for honest results, "random" for a plausible but different ciphertext of its own,
    "shared" for a wrong result that every colluder derives identically.
    """

    name: str
    computes: bool = True
    crashes: bool = False
    late: bool = False
    tamper: str = ""

    @property
    def byzantine(self) -> bool:
        """True for every behaviour but honest."""
        return self.name != "honest"


TAMPER_SLOTS = 4
"""How many leading result slots a tampering node shifts."""

BEHAVIOURS: dict[str, Behaviour] = {
    "honest": Behaviour("honest"),
    "wrong": Behaviour("wrong", tamper="random"),
    "lazy": Behaviour("lazy", computes=False),
    "crash": Behaviour("crash", crashes=True),
    "slow": Behaviour("slow", late=True),
    "colluding": Behaviour("colluding", tamper="shared"),
}


def behaviour_named(name: str) -> Behaviour:
    """Return the behaviour called ``name``; raises KeyError listing the known ones."""
    try:
        return BEHAVIOURS[name]
    except KeyError:
        raise KeyError(f"unknown behaviour {name!r} (known: {', '.join(BEHAVIOURS)})") from None


def tamper_outcome(behaviour: Behaviour, outcome: ExecutionOutcome, evaluator: Evaluator,
                   entropy: bytes) -> ExecutionOutcome:
    """Return the result a byzantine node reports instead of the honest ``outcome``.

    Both tampers add a plaintext vector to the first output, giving a valid ciphertext under the task's keys
    that decrypts to a plausible but wrong value. A "random" tamper adds small values drawn from ``entropy``
    (distinct per node and task); a "shared" tamper adds ones, which every colluder computes the same.
    """
    if not behaviour.tamper or outcome.status is not ExecStatus.SUCCESS or not outcome.outputs:
        return outcome
    if behaviour.tamper == "random":
        digest = hashlib.sha256(entropy).digest()
        offset = [digest[i] % 7 + 1 for i in range(TAMPER_SLOTS)]
    else:
        offset = [1] * TAMPER_SLOTS
    ops = evaluator.ops(Deadline.unlimited())
    wrong = ops.dump(ops.add_plain(ops.load(outcome.outputs[0]), offset, "tamper offset"))
    outputs = (wrong, *outcome.outputs[1:])
    return replace(outcome, outputs=outputs, result_hash=result_hash(outputs))
