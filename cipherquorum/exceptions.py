"""Every error cipherquorum raises: one base class and a specific subclass per rule that was broken."""
from __future__ import annotations


class CipherQuorumError(Exception):
    """Base of every error raised by cipherquorum."""


class ValidationError(CipherQuorumError, ValueError):
    """An input broke a rule; the message names the rule and the value."""


# --- configuration and scenarios ---------------------------------------------------------------

class ScenarioError(ValidationError):
    """A scenario file is missing, unreadable or invalid; the message names the file and the field."""


class DependencyMissing(CipherQuorumError, ImportError):
    """An optional dependency is not installed; the message says how to install it."""


# --- chain -------------------------------------------------------------------------------------

class ChainError(CipherQuorumError):
    """The chain could not be reached or answered with an error."""


class ChainUnavailable(ChainError):
    """No JSON-RPC endpoint answered at the given URL."""


class TransactionFailed(ChainError):
    """A transaction was mined but reverted without a known contract error."""


class ContractError(ChainError):
    """The TaskMarket contract reverted with one of its custom errors.

    ``error_name`` is the Solidity error's name, ``error_args`` its decoded arguments by name.
    Each custom error has a subclass of the same name in ``cipherquorum.chain.errors``.
    """

    def __init__(self, message: str, error_name: str = "", error_args: dict | None = None) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.error_args = dict(error_args or {})


class ArtifactError(ChainError):
    """The compiled contract artifact is missing, malformed or stale."""


# --- FHE ---------------------------------------------------------------------------------------

class FheError(CipherQuorumError):
    """An FHE operation failed."""


class UnknownPreset(FheError, ValidationError):
    """No FHE parameter preset has the given name."""


class KeyBundleError(FheError, ValidationError):
    """A key bundle could not be decoded or lacks a key a program needs."""


class CiphertextError(FheError, ValidationError):
    """Bytes are not a ciphertext of the expected parameters (truncated, garbage or foreign)."""


class UnknownProgram(FheError, ValidationError):
    """No FHE program is registered under the given name and version."""


class ProgramError(FheError):
    """An FHE program failed while running."""


class ProgramTimeout(ProgramError):
    """An FHE program ran past its time limit."""


# --- storage -----------------------------------------------------------------------------------

class StorageError(CipherQuorumError):
    """The blob store or its index failed."""


class BlobNotFound(StorageError, KeyError):
    """No blob is stored under the given id."""


class BlobCorrupted(StorageError):
    """A stored blob's bytes no longer hash to its id."""


class BlobTooLarge(StorageError, ValidationError):
    """A blob is larger than the store's per-blob limit."""


class VersionNotFound(StorageError, KeyError):
    """The index has no version for the given owner, kind and name."""


class StorageUnavailable(StorageError):
    """The storage did not answer: its process died for good, or it was not back before the caller's deadline."""


class StorageRestarting(StorageUnavailable):
    """The storage's process died and is restarting on its data directory: the same call may succeed again."""


# --- wire format -------------------------------------------------------------------------------

class WireError(ValidationError):
    """A message could not be encoded or decoded."""


class MessageTooLarge(WireError):
    """A message is larger than the size limit."""


class UnknownMessageType(WireError):
    """An envelope names a message type this version does not know."""


class UnsupportedVersion(WireError):
    """An envelope carries a wire-format version this code does not speak."""


class MalformedMessage(WireError):
    """A message is not valid msgpack, or a field is missing, unknown or of the wrong type."""


# --- actors and runs ---------------------------------------------------------------------------

class NodeError(CipherQuorumError):
    """A simulated node (Ray actor) failed or could not be reached."""


class NodeCrashed(NodeError):
    """A simulated node's process died."""


class RoleDied(NodeCrashed):
    """A role's process died and will not come back.

    ``role`` is the role's actor name ("clients", "chain", "storage", "node-2", "population-0"), ``title`` how a
    person calls it ("the client pool"), and ``call`` the call that found it dead ("clients.await_tasks").
    """

    def __init__(self, role: str, title: str, call: str) -> None:
        super().__init__(f"{title}'s process died (found by {call})")
        self.role = role
        self.title = title
        self.call = call

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:  # raised in one process, caught in another
        return type(self), (self.role, self.title, self.call)

    @property
    def cause(self) -> str:
        """The one-line cause a report and the command line give: "the client pool's process died"."""
        return f"{self.title}'s process died"


class RoleUnavailable(NodeError):
    """A role's process died and is being restarted; ``role`` names it. A call may be tried again."""

    def __init__(self, role: str, call: str) -> None:
        super().__init__(f"{call}: the process of {role} died and is restarting")
        self.role = role
        self.call = call

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.role, self.call)


class RunInterrupted(CipherQuorumError):
    """A run was stopped before every task finished (for example by Ctrl-C)."""


class InferenceError(ValidationError):
    """Split inference was asked for something its model or its inputs do not allow."""


class ImageError(InferenceError):
    """An image is not what the model takes: the wrong shape, or pixels outside its range."""


class LayerRangeError(InferenceError):
    """A number of layers ``k`` to run under FHE falls outside the model's layers."""


class ModelVersionNotFound(InferenceError, KeyError):
    """The model repository holds no such model, or no such version of it."""


class OwnerDataError(ValidationError):
    """A data owner's rows do not fit the joint schema: the wrong column count, or a value out of its range."""


class PlainCapacityExceeded(ValidationError):
    """A BFV result could pass the plain modulus and wrap: the rows, scale or bounds are too large for the preset."""


class OwnerKeyMismatch(KeyBundleError):
    """Data owners encrypted under different key bundles (or a bundle other than the analyst's)."""


class MarketStudyRefusal(ValidationError):
    """A market-study actor asked for something its rules refuse; the message names the actor and the value.

    ``reason`` (a class attribute) is the short name a report counts the refusal under.
    """

    reason = "refused"


class KeyCheckFailed(MarketStudyRefusal):
    """A user's published keys do not decrypt its sample block: a foreign or replaced bundle, or a lost secret."""

    reason = "foreign key bundle"


class SurveyChangeRefused(MarketStudyRefusal):
    """A survey that has started was asked to change (its target group or its study)."""

    reason = "changing a started survey"


class SurveyLocked(MarketStudyRefusal):
    """An answer came for a survey, or a copy, that no longer takes answers."""

    reason = "answering a locked survey"


class NotACandidate(MarketStudyRefusal):
    """A user whose public profile is outside a room's audience tried to join it."""

    reason = "not a candidate"


class SecondConnection(MarketStudyRefusal):
    """A user already connected to a room tried to connect again from another instance."""

    reason = "second connection"


class PinRefused(MarketStudyRefusal):
    """A PIN answer that the room does not accept."""

    reason = "pin refused"


class WrongPin(PinRefused):
    """A PIN answer that is not the decrypted response."""

    reason = "wrong pin"


class ReplayedPin(PinRefused):
    """A PIN answer for a challenge that was already answered."""

    reason = "replayed pin"


class ExpiredPin(PinRefused):
    """A PIN answer that came after its challenge expired."""

    reason = "expired pin"


class StaleProfileVersion(MarketStudyRefusal):
    """A profile change or share based on a version that is no longer the current one."""

    reason = "stale profile version"


class PsiItemError(ValidationError):
    """A PSI item that does not hash to the field (not bytes, str or int; empty; too long), or a bad label."""


class PsiQueryError(ValidationError):
    """A PSI query that does not fit its parameters: an OPRF point that does not parse, too many requester items."""


class ProviderSetTooLarge(ValidationError):
    """A PSI provider set larger than its parameters allow: more items, or a fuller bin, than the bundles hold."""


class MaskedTotalInvalid(ValidationError):
    """A decrypted masked total outside what the owners' rows can give: pairwise masks that did not cancel
    (an owner masked for another set of owners) or a contribution out of range."""
