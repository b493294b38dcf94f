"""The PSI requester role (seed 004's car vendor): owns its BFV keys, queries encrypted, learns the intersection."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cipherquorum.exceptions import PsiQueryError
from cipherquorum.fhe import Ciphertext, KeyNeeds, SecretKeyOwner, get_preset
from cipherquorum.psi.field import power
from cipherquorum.psi.hashing import CuckooTable
from cipherquorum.psi.items import Item, check_items
from cipherquorum.psi.oprf import BlindedItems, OprfOutput, field_element, label_pad
from cipherquorum.psi.windowing import sent_powers


@dataclass(frozen=True)
class _Query:
    table: CuckooTable


class PsiRequester:
    """A requester: its items, its secret key, and the cuckoo table of each query it sent.

    Its items leave the role only blinded (to the provider) and encrypted (to the nodes); ``read`` decrypts the
    nodes' results and returns the intersection with the labels.
    """

    def __init__(self, items: Sequence[Item], preset: str) -> None:
        """Check the items (PsiItemError names a bad or repeated one), make keys for ``preset`` with a
        relinearization key, and blind the items for the OPRF."""
        self._encoded = check_items(items, "requester_items")
        self._keys = SecretKeyOwner.generate(preset, KeyNeeds(relin=True))
        fhe_preset = get_preset(preset)
        self._slots = fhe_preset.slots
        self._plain_modulus = int(fhe_preset.plain_modulus or 0)
        if len(self._encoded) > self._slots // 2:
            raise PsiQueryError(f'"requester_items" must number <= {self._slots // 2} for preset {preset!r} '
                                f"(got {len(self._encoded)})")
        self._blinded = BlindedItems(self._encoded)
        self._outputs: list[OprfOutput] | None = None
        self._queries: dict[int, _Query] = {}

    def key_bundle(self) -> bytes:
        """The public key bundle (wire bytes) the nodes evaluate under."""
        return self._keys.bundle.to_bytes()

    def blinded(self) -> tuple[bytes, ...]:
        """The blinded items to send to the provider's OPRF."""
        return self._blinded.points

    def receive_oprf(self, answers: Sequence[bytes]) -> None:
        """Unblind the provider's answers; raises PsiQueryError for a wrong count or a bad point."""
        self._outputs = self._blinded.unblind(answers)

    def _felts(self, salt: int) -> list[int]:
        if self._outputs is None:
            raise PsiQueryError("the requester has no OPRF answers yet (call receive_oprf first)")
        return [field_element(output, salt, self._plain_modulus) for output in self._outputs]

    def query(self, salt: int, part_size: int, window_bits: int) -> tuple[bytes, ...]:
        """Return the encrypted sent powers (wire bytes, ascending exponent) of the cuckoo table under ``salt``."""
        felts = self._felts(salt)
        table = CuckooTable.build(felts, self._slots, seed=salt)
        self._queries[salt] = _Query(table)
        t = self._plain_modulus
        x = np.asarray(table.query_vector(felts), dtype=np.int64)
        ciphertexts = []
        for exponent in sent_powers(part_size, window_bits):
            values = power(x, exponent, t)
            ciphertexts.append(self._keys.encrypt(np.where(values > (t - 1) // 2, values - t, values).tolist()))
        return tuple(ct.to_bytes() for ct in ciphertexts)

    def read(self, salt: int, outputs: Sequence[bytes], labeled: bool) -> dict[int, int | None]:
        """Decrypt a task's results and return its matches: requester item index to label (None unlabeled).

        Raises PsiQueryError for a salt never queried or a result count that does not fit, CiphertextError for
        an output that is not a ciphertext of the requester's parameters.
        """
        query = self._queries.get(salt)
        if query is None:
            raise PsiQueryError(f"no query was made under salt {salt} (queried: {sorted(self._queries)})")
        per_bundle = 2 if labeled else 1
        if not outputs or len(outputs) % per_bundle:
            raise PsiQueryError(f"results must be a non-empty multiple of {per_bundle} ciphertexts "
                                f"(got {len(outputs)})")
        assert self._outputs is not None
        t = self._plain_modulus
        vectors = [np.asarray(self._keys.decrypt(Ciphertext.from_bytes(data)), dtype=np.int64) % t
                   for data in outputs]
        slots = np.asarray(query.table.slot_of, dtype=np.int64)
        found: dict[int, int | None] = {}
        for start in range(0, len(vectors), per_bundle):
            hits = np.flatnonzero(vectors[start][slots] == 0)
            for index in hits.tolist():
                label = None
                if labeled:
                    label = int((vectors[start + 1][slots[index]] - label_pad(self._outputs[index], t)) % t)
                found.setdefault(int(index), label)
        return found
