"""The [psi] scenario section: the requester's and provider's set sizes, the bundle shape and the rounds."""
from __future__ import annotations

from dataclasses import dataclass

from cipherquorum.psi.task import MAX_BUNDLES, MAX_PART_SIZE, MAX_WINDOW_BITS
from cipherquorum.settings.toml import TableReader

MAX_REQUESTER_ITEMS = 4096
MAX_PROVIDER_ITEMS = 1 << 20


@dataclass(frozen=True)
class PsiRound:
    """One intersection: a provider set of ``provider_items`` items, labeled or not."""

    provider_items: int
    labeled: bool


@dataclass(frozen=True)
class PsiSettings:
    """How the PSI workflow runs: one requester of ``requester_items`` items (``overlap`` of them held by the
    provider) against each round's provider set, in tasks of at most ``items_per_task`` provider items."""

    requester_items: int
    overlap: float
    part_size: int
    window_bits: int
    max_bundles: int
    items_per_task: int
    time_limit_s: float
    rounds: tuple[PsiRound, ...]
    section: str = "psi"
    clients: int = 1


def _round(reader: TableReader) -> PsiRound:
    found = PsiRound(provider_items=reader.integer("provider_items", minimum=1, maximum=MAX_PROVIDER_ITEMS),
                     labeled=reader.boolean("labeled", True))
    reader.finish()
    return found


def read_settings(reader: TableReader) -> PsiSettings:
    """Read [psi] and its [[psi.rounds]]; raises ScenarioError naming a bad or unknown field."""
    requester_items = reader.integer("requester_items", 256, minimum=1, maximum=MAX_REQUESTER_ITEMS)
    overlap = reader.number("overlap", 0.25)
    if not 0.0 <= overlap <= 1.0:
        raise reader.error(f"must be in [0, 1] (got {overlap})", "overlap")
    part_size = reader.integer("part_size", 16, minimum=1, maximum=MAX_PART_SIZE)
    window_bits = reader.integer("window_bits", 2, minimum=1, maximum=MAX_WINDOW_BITS)
    max_bundles = reader.integer("max_bundles", 16, minimum=1, maximum=MAX_BUNDLES)
    items_per_task = reader.integer("items_per_task", 65536, minimum=1, maximum=MAX_PROVIDER_ITEMS)
    time_limit_s = reader.number("time_limit_s", 120.0)
    if not time_limit_s > 0:
        raise reader.error(f"must be > 0 (got {time_limit_s})", "time_limit_s")
    rounds = tuple(_round(table) for table in reader.tables("rounds", required=True))
    reader.finish()
    return PsiSettings(requester_items, overlap, part_size, window_bits, max_bundles, items_per_task, time_limit_s,
                       rounds)
