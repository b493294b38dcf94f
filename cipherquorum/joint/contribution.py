"""What a data owner publishes for a joint job: its ciphertexts' refs, the key bundle and schema it used."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cipherquorum.exceptions import OwnerDataError, OwnerKeyMismatch, ValidationError
from cipherquorum.wire.codec import message

CONTRIBUTION_KIND = "joint-contribution"
"""The storage index kind under which an owner publishes its contribution, named by the job."""


@message("JointContribution")
@dataclass(frozen=True)
class Contribution:
    """One owner's part of a job: ciphertext blob refs, all under ``key_bundle_ref``, encoded by ``schema_digest``.

    Carries no row and no count: the number of ciphertexts shows only how many chunks of rows there are.
    """

    owner: str
    job: str
    key_bundle_ref: str
    schema_digest: str
    input_refs: tuple[str, ...]


def check_contributions(contributions: Sequence[Contribution], key_bundle_ref: str, schema_digest: str,
                        min_owners: int) -> tuple[str, ...]:
    """Return every input ref of the contributions, in order, once they agree.

    Raises OwnerKeyMismatch naming each owner whose bundle is not ``key_bundle_ref``, OwnerDataError for an owner
    who encoded under another schema, ValidationError for fewer than ``min_owners`` distinct owners, an owner
    twice, contributions to different jobs, or an owner with no ciphertext.
    """
    foreign = [f"{c.owner} used {c.key_bundle_ref}" for c in contributions if c.key_bundle_ref != key_bundle_ref]
    if foreign:
        raise OwnerKeyMismatch(
            f"owners must encrypt under the analyst's key bundle {key_bundle_ref} (got {'; '.join(foreign)})"
        )
    schemas = [f"{c.owner} used {c.schema_digest}" for c in contributions if c.schema_digest != schema_digest]
    if schemas:
        raise OwnerDataError(f"owners must encode under schema {schema_digest} (got {'; '.join(schemas)})")
    owners = [c.owner for c in contributions]
    if len(set(owners)) != len(owners):
        raise ValidationError(f"each owner contributes once (got owners {owners})")
    if len(owners) < min_owners:
        raise ValidationError(f"a joint result needs >= {min_owners} owners (got {len(owners)}: {owners})")
    jobs = sorted({c.job for c in contributions})
    if len(jobs) != 1:
        raise ValidationError(f"contributions must be to one job (got jobs {jobs})")
    empty = [c.owner for c in contributions if not c.input_refs]
    if empty:
        raise ValidationError(f"each owner contributes >= 1 ciphertext (got none from {empty})")
    return tuple(ref for c in contributions for ref in c.input_refs)
