"""An impostor at the PIN game: someone without the user's secret key who holds the user's connection, knows
the PIN, and reads every blob in storage and every event and transaction on chain, then answers as best it can."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import CipherQuorumError
from cipherquorum.fhe import Ciphertext, Encryptor, KeyBundle, SecretKeyOwner
from cipherquorum.fhe.programs.auth import centered
from cipherquorum.types import BlobId
from cipherquorum.wire import TaskManifest, decode

STRATEGIES = (
    "the PIN itself",
    "the response decrypted with its own secret key",
    "the PIN plus the mask decrypted with its own secret key",
    "the task's agreed result hash read as slots",
)
"""What an impostor answers with, one challenge each; none can work without the user's secret key."""


@dataclass(frozen=True)
class Sightings:
    """What the impostor read: blobs and their bytes from storage, events and transactions from the chain."""

    blobs: int
    blob_bytes: int
    events: int
    transactions: int


class Impostor:
    """Reads everything public, then guesses; its own keys are of the same preset as its victims'."""

    def __init__(self, preset: str) -> None:
        self._keys = SecretKeyOwner.generate(preset)
        self._manifests: list[TaskManifest] = []
        self._result_hashes: list[bytes] = []
        self._blobs = self._bytes = self._events = self._transactions = 0

    def encrypt_pin(self, victim_bundle: bytes, pin: int, slots: int) -> bytes:
        """The PIN encrypted under the victim's public key (anyone can do that much)."""
        return Encryptor.from_bundle(KeyBundle.from_bytes(victim_bundle)).encrypt([pin] * slots).to_bytes()

    def read_storage(self, blobs: Iterable[bytes]) -> None:
        """Read blobs; keep every task manifest found among them."""
        for data in blobs:
            self._blobs += 1
            self._bytes += len(data)
            try:
                self._manifests.append(decode(data, TaskManifest))
            except CipherQuorumError:
                continue

    def read_chain(self, events: Sequence[object], transactions: int) -> None:
        """Read the chain's events (each with ``args``) and count its transactions; keep every result hash."""
        self._events += len(events)
        self._transactions += transactions
        for event in events:
            value = getattr(event, "args", {}).get("resultHash")
            if isinstance(value, (bytes, bytearray)):
                self._result_hashes.append(bytes(value))

    def sightings(self) -> Sightings:
        """What it read."""
        return Sightings(self._blobs, self._bytes, self._events, self._transactions)

    def guess(self, strategy: str, pin: int, pin_ref: BlobId, response: bytes, get: Callable[[BlobId], bytes],
              slots: int) -> tuple[int, ...]:
        """The answer ``strategy`` gives for a challenge whose PIN ciphertext is ``pin_ref``."""
        preset = self._keys.preset
        modulus = int(preset.plain_modulus or 0)
        if strategy == STRATEGIES[0]:
            return tuple([pin] * slots)
        if strategy == STRATEGIES[1]:
            return tuple(int(v) for v in self._keys.decrypt(Ciphertext.from_bytes(response), slots))
        if strategy == STRATEGIES[2]:
            mask_ref = next(manifest.input_refs[i + 1] for manifest in self._manifests
                            for i in range(0, len(manifest.input_refs) - 1, 2) if manifest.input_refs[i] == pin_ref)
            mask = self._keys.decrypt(Ciphertext.from_bytes(get(BlobId(mask_ref))), slots)
            return tuple(centered(pin + int(m), modulus) for m in mask)
        digest = self._result_hashes[-1] if self._result_hashes else bytes(32)
        return tuple(centered(int.from_bytes(digest[4 * i:4 * i + 4], "big"), modulus) for i in range(slots))
