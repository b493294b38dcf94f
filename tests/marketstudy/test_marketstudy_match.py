"""Profile match (Fig. 10): the client's criteria encrypted under its key; scores for many profiles in one task."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ValidationError
from cipherquorum.fhe import SecretKeyOwner, execute, get_program
from cipherquorum.fhe.programs.auth import match_score
from cipherquorum.marketstudy.matching import BLOCK_WIDTH, Audience, TargetGroup, is_match, placed
from cipherquorum.marketstudy.profiles import ATTRIBUTES, profile_of_row
from cipherquorum.types import ExecStatus

BLOCKS = 8
TARGET = TargetGroup.of({"bmi_band": [1, 2], "bp_band": [2, 3]})


@pytest.fixture(scope="module")
def client() -> SecretKeyOwner:
    """A client's match keys: relinearization and the block's fold rotations."""
    params = {"width": BLOCK_WIDTH, "blocks": BLOCKS}
    return SecretKeyOwner.generate("bfv-8192", get_program("profile_match@1").key_needs(params))


def test_one_task_scores_many_profiles_as_the_plaintext_target_group_says(client: SecretKeyOwner) -> None:
    """Twenty real profiles in three output groups get scores; the matches equal the plaintext reference."""
    params = {"width": BLOCK_WIDTH, "blocks": BLOCKS}
    profiles = [profile_of_row(row) for row in range(20)]
    inputs = [client.encrypt(TARGET.tiled_criteria(BLOCKS)).to_bytes()]
    inputs += [client.encrypt(placed(values, k % BLOCKS)).to_bytes() for k, values in enumerate(profiles)]
    outcome = execute("profile_match@1", client.bundle, inputs, params, 60.0)
    assert outcome.status is ExecStatus.SUCCESS and len(outcome.outputs) == 3
    program = get_program("profile_match@1")
    folded = program.decode([client.decrypt(ct) for ct in outcome.outputs], params)
    scores = [match_score(value, len(ATTRIBUTES), TARGET.weight) for value in folded[:len(profiles)]]
    assert [is_match(s) for s in scores] == [TARGET.contains(v) for v in profiles]
    assert 0 < sum(is_match(s) for s in scores) < len(profiles)


def test_the_criteria_are_in_no_manifest_field_and_unreadable_to_a_respondent(client: SecretKeyOwner) -> None:
    """The task's params carry only the layout; a respondent's own key decrypts the criteria to noise."""
    respondent = SecretKeyOwner.generate("bfv-8192")
    criteria = client.encrypt(TARGET.tiled_criteria(BLOCKS))
    assert respondent.decrypt(criteria, BLOCK_WIDTH) != TARGET.criteria()
    program = get_program("profile_match@1")
    program.validate_params({"width": BLOCK_WIDTH, "blocks": BLOCKS}, 2)
    with pytest.raises(ValidationError, match="takes no parameter 'criteria'"):
        program.validate_params({"width": BLOCK_WIDTH, "blocks": BLOCKS, "criteria": (1, 0)}, 2)


@pytest.mark.parametrize("folded, verdict", [(4 + 2 * 4 + 9, 4), (4 + 9, 0), (4 + 2 * 4 + 10, None), (3, None)])
def test_match_score_reads_only_what_a_one_hot_profile_can_give(folded: int, verdict: int | None) -> None:
    """A folded slot gives the score; a slot no one-hot profile of four attributes can give is refused."""
    if verdict is None:
        with pytest.raises(ValidationError, match="not one-hot"):
            match_score(folded, 4, 9)
    else:
        assert match_score(folded, 4, 9) == verdict


@pytest.mark.parametrize("criteria, message", [({"bmi_band": [0]}, "public attributes"), ({"height": [0]}, "height"),
                                               ({"sex": [2]}, "buckets in")])
def test_an_audience_takes_known_public_attributes_only(criteria: dict, message: str) -> None:
    """The room's audience reads public data only: a private, unknown or out-of-range bucket is refused."""
    with pytest.raises(ValidationError, match=message):
        Audience.of(criteria)
