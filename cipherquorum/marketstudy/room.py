"""A survey's chat room (seed 000, Figs. 6 to 9): its state follows the survey, only candidates of its audience
join, one connection per user, and the PIN authentication game with its counters.

The game: the room draws a PIN and a mask; the user encrypts the PIN under its own key; the room encrypts the
mask under the user's public key; a market task adds them (``pin_mask@1``); the user decrypts the agreed
response and answers with it. The mask is drawn from an unpredictable source and exists in plaintext only in
the room, so the response is unpredictable to anyone without the user's secret key.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from cipherquorum.exceptions import (
    ExpiredPin,
    KeyCheckFailed,
    MarketStudyRefusal,
    NotACandidate,
    ReplayedPin,
    SecondConnection,
    ValidationError,
    WrongPin,
)
from cipherquorum.fhe import Encryptor
from cipherquorum.fhe.programs.auth import centered
from cipherquorum.marketstudy.matching import Audience
from cipherquorum.marketstudy.survey import SurveyState
from cipherquorum.types import BlobId

Clock = Callable[[], float]
"""The room's one source of time, in seconds (monotonic)."""


class RoomState(Enum):
    """A room waits while its survey is a draft, is open while it is started, and is closed after."""

    WAITING = "waiting"
    OPEN = "open"
    CLOSED = "closed"


_ROOM_FOR = {SurveyState.DRAFT: RoomState.WAITING, SurveyState.STARTED: RoomState.OPEN,
             SurveyState.COMPLETED: RoomState.CLOSED, SurveyState.LOCKED: RoomState.CLOSED}


@dataclass(frozen=True)
class PinRules:
    """The game's rules: PIN digits, mask slots (each ~log2(t) bits of unpredictability) and the answer window."""

    pin_digits: int = 6
    mask_slots: int = 4
    answer_window_s: float = 30.0

    def __post_init__(self) -> None:
        if not 4 <= self.pin_digits <= 6:
            raise ValidationError(f'"pin_digits" must be in [4, 6] (got pin_digits={self.pin_digits})')
        if not 1 <= self.mask_slots <= 64:
            raise ValidationError(f'"mask_slots" must be in [1, 64] (got mask_slots={self.mask_slots})')
        if not self.answer_window_s > 0:
            raise ValidationError(f'"answer_window_s" must be > 0 (got answer_window_s={self.answer_window_s})')


@dataclass(frozen=True)
class Challenge:
    """What the room sends a user: the challenge's id, the PIN to encrypt, and the mask encrypted for it."""

    challenge_id: str
    user: str
    pin: int
    mask: bytes = field(repr=False)

    def pin_vector(self, slots: int) -> list[int]:
        """The PIN as the user encrypts it: repeated in every mask slot."""
        return [self.pin] * slots


@dataclass
class _Pending:
    user: str
    expected: tuple[int, ...]
    expires_s: float | None = None
    answered: bool = False


@dataclass(frozen=True)
class RoomTally:
    """A room's counts: joins, refusals by reason, PIN attempts, accepted answers."""

    joined: int
    attempts: int
    accepted: int
    refused: Mapping[str, int]


class Room:
    """One survey's room. Every refusal raises a MarketStudyRefusal naming the user and the value, and is counted."""

    def __init__(self, room_id: str, survey_id: str, audience: Audience, rules: PinRules, clock: Clock,
                 rng: random.Random | None = None) -> None:
        self._room_id = room_id
        self._survey_id = survey_id
        self._audience = audience
        self._rules = rules
        self._clock = clock
        self._rng = rng if rng is not None else random.SystemRandom()
        self._state = RoomState.WAITING
        self._connections: dict[str, str] = {}
        self._joined: set[str] = set()
        self._pending: dict[str, _Pending] = {}
        self._authenticated: set[str] = set()
        self._refused: Counter[str] = Counter()
        self._attempts = 0
        self._next_challenge = 0

    @property
    def room_id(self) -> str:
        """The room's id."""
        return self._room_id

    @property
    def state(self) -> RoomState:
        """Where the room is in its life."""
        return self._state

    @property
    def rules(self) -> PinRules:
        """The PIN game's rules."""
        return self._rules

    @property
    def authenticated(self) -> frozenset[str]:
        """The users that answered their PIN correctly."""
        return frozenset(self._authenticated)

    def follow(self, survey: SurveyState) -> RoomState:
        """Set the room's state from its survey's; return it."""
        self._state = _ROOM_FOR[survey]
        return self._state

    def refuse(self, error: MarketStudyRefusal) -> MarketStudyRefusal:
        """Count ``error`` under its reason and return it (for ``raise room.refuse(...)``)."""
        self._refused[error.reason] += 1
        return error

    def join(self, user: str, instance: str, public: Mapping[str, int]) -> None:
        """Connect ``user`` from ``instance``. Raises NotACandidate when its public profile is outside the
        audience, SecondConnection while another instance of it is connected, MarketStudyRefusal when closed."""
        if self._state is not RoomState.OPEN:
            raise self.refuse(MarketStudyRefusal(f"user {user}: room {self._room_id} is {self._state.value}"))
        if not self._audience.admits(public):
            raise self.refuse(NotACandidate(f"user {user}: public profile {dict(public)} is outside the audience "
                                            f"of room {self._room_id}"))
        live = self._connections.get(user)
        if live is not None and live != instance:
            raise self.refuse(SecondConnection(f"user {user}: instance {instance!r} refused, instance {live!r} is "
                                               f"connected to room {self._room_id}"))
        self._connections[user] = instance
        self._joined.add(user)

    def leave(self, user: str, instance: str) -> None:
        """Close ``user``'s connection from ``instance`` (another instance's connection stays)."""
        if self._connections.get(user) == instance:
            del self._connections[user]

    def connected(self, user: str) -> bool:
        """Whether ``user`` holds a live connection."""
        return user in self._connections

    def check_bundle(self, user: str, presented: BlobId, published: BlobId) -> None:
        """Raise KeyCheckFailed (counted) unless the bundle a user presents is its current published one."""
        if presented != published:
            raise self.refuse(KeyCheckFailed(f"user {user}: presented key bundle {presented[:12]} is not its "
                                             f"published bundle {published[:12]}"))

    def challenge(self, user: str, encryptor: Encryptor) -> Challenge:
        """Start the game for a connected user: draw a PIN and a mask, and encrypt the mask under ``encryptor``
        (the user's public key). Raises MarketStudyRefusal if the user is not connected."""
        if user not in self._connections:
            raise self.refuse(MarketStudyRefusal(f"user {user}: is not connected to room {self._room_id}"))
        preset = encryptor.preset
        bound = preset.plain_bound
        pin = self._rng.randrange(10 ** self._rules.pin_digits)
        mask = [self._rng.randint(-bound, bound) for _ in range(self._rules.mask_slots)]
        expected = tuple(centered(pin + m, int(preset.plain_modulus or 0)) for m in mask)
        challenge_id = f"{self._room_id}/{self._next_challenge}"
        self._next_challenge += 1
        self._pending[challenge_id] = _Pending(user, expected)
        return Challenge(challenge_id, user, pin, encryptor.encrypt(mask).to_bytes())

    def deliver(self, challenge_id: str) -> None:
        """The agreed response reached the user: its answer window starts now."""
        pending = self._pending.get(challenge_id)
        if pending is not None and pending.expires_s is None:
            pending.expires_s = self._clock() + self._rules.answer_window_s

    def answer(self, user: str, challenge_id: str, response: Sequence[int]) -> None:
        """Accept ``user``'s answer, or raise (counted) WrongPin for another value or a challenge that is not
        the user's, ReplayedPin for a challenge already answered, ExpiredPin past its answer window."""
        self._attempts += 1
        pending = self._pending.get(challenge_id)
        if pending is None or pending.user != user:
            raise self.refuse(WrongPin(f"user {user}: no challenge {challenge_id!r} was issued to it"))
        if pending.answered:
            raise self.refuse(ReplayedPin(f"user {user}: challenge {challenge_id!r} was already answered"))
        pending.answered = True
        if pending.expires_s is None or self._clock() > pending.expires_s:
            raise self.refuse(ExpiredPin(f"user {user}: challenge {challenge_id!r} expired "
                                         f"(answer window {self._rules.answer_window_s} s)"))
        if tuple(int(v) for v in response) != pending.expected:
            raise self.refuse(WrongPin(f"user {user}: answer {tuple(response)[:2]}... to challenge "
                                       f"{challenge_id!r} is wrong"))
        self._authenticated.add(user)

    def tally(self) -> RoomTally:
        """The room's counts so far."""
        return RoomTally(len(self._joined), self._attempts, len(self._authenticated), dict(self._refused))
