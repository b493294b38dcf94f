"""The FHE program interface: a named, versioned, deterministic computation with a plaintext reference."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar

from cipherquorum.exceptions import CiphertextError, ValidationError
from cipherquorum.fhe import seal
from cipherquorum.fhe.ciphertext import Ciphertext
from cipherquorum.fhe.deadline import Deadline
from cipherquorum.fhe.evaluator import CipherOps, Evaluator, Number
from cipherquorum.fhe.keys import KeyNeeds
from cipherquorum.fhe.presets import Scheme

Params = Mapping[str, object]
"""Program parameters as a task manifest carries them: names to scalars or flat sequences of scalars."""

PlainVector = list[int] | list[float]


class Program(ABC):
    """A deterministic FHE computation: same input bytes and params give byte-identical outputs.

    Subclasses set ``name``, ``version``, ``scheme`` and (CKKS) ``abs_tolerance``, and implement the
    abstract methods; ``run`` does the checks every program shares, then calls ``_evaluate``.
    """

    name: ClassVar[str]
    version: ClassVar[int]
    scheme: ClassVar[Scheme]
    summary: ClassVar[str]
    abs_tolerance: ClassVar[float] = 0.0
    """How far a decrypted slot may be from ``reference`` (0: exactly equal, as for every BFV program)."""

    @property
    def ref(self) -> str:
        """The program's registry name, "name@version"; the contract stores keccak256 of it."""
        return f"{self.name}@{self.version}"

    @abstractmethod
    def key_needs(self, params: Params) -> KeyNeeds:
        """Return the evaluation keys the program needs with these (valid) params."""

    @abstractmethod
    def validate_params(self, params: Params, n_inputs: int) -> None:
        """Raise ValidationError naming the parameter (or the input count) that breaks a rule."""

    @abstractmethod
    def reference(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> list[PlainVector]:
        """Return what decrypting each result ciphertext must give, its first k slots, for these plaintexts.

        Raises ValidationError if an input vector is longer than the params allow.
        """

    @abstractmethod
    def decode(self, decrypted: Sequence[Sequence[Number]], params: Params) -> object:
        """Turn decrypted result vectors (at least the reference's slots each) into the human result.

        Raises ValidationError if there are too few vectors or slots.
        """

    @abstractmethod
    def _evaluate(self, ops: CipherOps, inputs: list[seal.PyCtxt], params: Params) -> list[seal.PyCtxt]:
        """Compute the result ciphertexts from loaded, checked inputs."""

    def plain_result(self, plain_inputs: Sequence[Sequence[Number]], params: Params) -> object:
        """Return the human result computed on plaintexts: ``decode(reference(plain_inputs))``."""
        self.validate_params(params, len(plain_inputs))
        return self.decode(self.reference(plain_inputs, params), params)

    def run(
        self, evaluator: Evaluator, inputs: Sequence[Ciphertext], params: Params, deadline: Deadline
    ) -> list[Ciphertext]:
        """Return the result ciphertexts of the program on ``inputs`` (fresh ciphertexts of the evaluator's bundle).

        Raises ValidationError for bad params or a preset the program does not run on, KeyBundleError for a
        missing key, CiphertextError for a foreign or non-fresh input, ProgramTimeout past ``deadline``,
        ProgramError when SEAL rejects an operation.
        """
        self.validate_params(params, len(inputs))
        preset = evaluator.preset
        if not preset.supports(self.ref):
            raise ValidationError(
                f"program {self.ref} does not run on preset {preset.name!r} (it runs {', '.join(preset.programs)})"
            )
        evaluator.require(self.key_needs(params), self.ref)
        ops = evaluator.ops(deadline)
        loaded = []
        for index, ct in enumerate(inputs):
            if ct.level != 0:
                raise CiphertextError(f"input {index} must be a fresh ciphertext at level 0 (got level={ct.level})")
            loaded.append(ops.load(ct))
        return [ops.dump(result) for result in self._evaluate(ops, loaded, params)]


# --- parameter rules shared by programs --------------------------------------------------------

def check_param_names(ref: str, params: Params, allowed: Sequence[str]) -> None:
    """Raise ValidationError naming a parameter ``ref`` does not take."""
    if not isinstance(params, Mapping):
        raise ValidationError(f"params of {ref} must be a mapping (got {type(params).__name__})")
    for name in params:
        if name not in allowed:
            raise ValidationError(
                f"{ref} takes no parameter {name!r} (allowed: {', '.join(allowed) if allowed else 'none'})"
            )


def check_input_count(ref: str, n_inputs: int, low: int, high: int | None = None) -> None:
    """Raise ValidationError unless ``low <= n_inputs <= high``."""
    if n_inputs < low or (high is not None and n_inputs > high):
        bound = f"exactly {low}" if high == low else f">= {low}" if high is None else f"{low}..{high}"
        raise ValidationError(f"{ref} needs {bound} input ciphertexts (got {n_inputs})")


def check_not_all_zero(name: str, values: Sequence[Number]) -> None:
    """Raise ValidationError if every value is zero: a zero multiplier would leave the product unencrypted."""
    if not any(values):
        raise ValidationError(f'"{name}" must hold a non-zero value (a zero product would not be encrypted)')


def int_param(params: Params, name: str, *, low: int, high: int, default: int | None = None) -> int:
    """Return the int parameter ``name`` (``default`` when absent and not None); raises ValidationError."""
    value = params.get(name, default)
    if value is None:
        raise ValidationError(f'parameter "{name}" is required (an int in [{low}, {high}])')
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f'"{name}" must be an int in [{low}, {high}] (got {name}={value!r})')
    return value


def number_list_param(params: Params, name: str, *, kind: type, max_len: int) -> list:
    """Return the required flat list parameter ``name`` of ints (``kind=int``) or reals (``kind=float``).

    Raises ValidationError if it is absent, empty, longer than ``max_len``, or holds another type.
    """
    value = params.get(name)
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= max_len:
        raise ValidationError(f'"{name}" must be a list of 1..{max_len} numbers (got {name}={value!r:.80})')
    allowed = (int,) if kind is int else (int, float)
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, allowed):
            raise ValidationError(
                f'"{name}[{index}]" must be {"an int" if kind is int else "a real number"} (got {item!r})'
            )
    return [kind(item) for item in value]


def padded(vector: Sequence[Number], width: int, what: str) -> list:
    """Return ``vector`` padded with zeros to ``width``; raises ValidationError if it is longer."""
    if len(vector) > width:
        raise ValidationError(f"{what} must hold <= {width} values (got {len(vector)})")
    return list(vector) + [0] * (width - len(vector))


def first_slots(decrypted: Sequence[Sequence[Number]], count: int, width: int, ref: str) -> list[list]:
    """Return the first ``width`` slots of the first ``count`` vectors; raises ValidationError if short."""
    if len(decrypted) < count:
        raise ValidationError(f"{ref} results are {count} vectors (got {len(decrypted)})")
    vectors = [list(vector[:width]) for vector in decrypted[:count]]
    for index, vector in enumerate(vectors):
        if len(vector) < width:
            raise ValidationError(f"{ref} result {index} must hold >= {width} slots (got {len(vector)})")
    return vectors
