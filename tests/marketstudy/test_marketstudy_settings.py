"""The [market_study] section: read strictly, with errors that name the field and the value."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.marketstudy.matching import Audience, TargetGroup
from cipherquorum.marketstudy.plan import expect_room, final_profile, plan_respondents
from cipherquorum.marketstudy.settings import MarketStudySettings, read_settings
from cipherquorum.settings.toml import TableReader

BASE: dict[str, Any] = {
    "respondents": 30, "wrong_pins": 2, "bad_keys": 1, "second_connections": 3, "profile_updates": 4,
    "stale_updates": 1,
    "surveys": [{"id": "s1", "audience": {"sex": "1"}, "target_group": {"bmi_band": "1,2"},
                 "questions": [{"text": "Often?", "kind": "choice", "options": ["no", "yes"]}]}],
}


def _read(table: dict[str, Any]) -> MarketStudySettings:
    return read_settings(TableReader("test.toml", "market_study", table))


def test_a_section_reads_into_settings_with_two_accounts_per_survey() -> None:
    """The section gives the counts, the groups as bucket tuples, and a client and a room account per survey."""
    settings = _read(copy.deepcopy(BASE))
    assert settings.clients == 2 and settings.respondents == 30
    assert settings.surveys[0].target_group == {"bmi_band": (1, 2)}


def _with(path: str, value: Any) -> dict[str, Any]:
    table = copy.deepcopy(BASE)
    if path.startswith("survey."):
        table["surveys"][0][path.removeprefix("survey.")] = value
    else:
        table[path] = value
    return table


@pytest.mark.parametrize("table, message", [
    (_with("respondents", 1), "respondents: must be >= 2"),
    (_with("wrong_pins", 40), "must not outnumber the respondents"),
    (_with("stale_updates", 9), "stale_updates: must be <= 4"),
    (_with("unknown", 1), "unknown field"),
    (_with("survey.audience", {"bmi_band": "1"}), "public attributes"),
    (_with("survey.audience", {"sex": "one"}), 'bucket numbers as "1,2,3"'),
    (_with("survey.target_group", {"sex": "7"}), "buckets in"),
    (_with("answer_window_s", 0), "answer_window_s: must be in"),
    (_with("surveys", []), "non-empty array"),
])
def test_bad_settings_are_refused_naming_the_field(table: dict[str, Any], message: str) -> None:
    """Each rule broken gives a ScenarioError naming the field and the value."""
    with pytest.raises(ScenarioError, match=message):
        _read(table)


def test_the_plan_puts_each_behaviour_on_distinct_respondents_and_implies_the_counts() -> None:
    """Planted behaviours never overlap; refused joins equal the non-candidates of the audience."""
    settings = _read(copy.deepcopy(BASE))
    plan = plan_respondents(settings, "seed-1")
    assert len(plan.behaviour) == 6 and len(plan.updaters) == 4 and plan.stale <= plan.updaters
    profiles = [final_profile(i, name in plan.updaters) for i, name in enumerate(plan.names)]
    audience, target = Audience.of({"sex": [1]}), TargetGroup.of({"bmi_band": [1, 2]})
    expected = expect_room(plan, profiles, audience, target)
    non_candidates = sum(not audience.admits(p.public()) for p in profiles)
    assert expected.refused_joins == non_candidates
    assert set(expected.matched) <= set(expected.authenticated)
    assert all(target.contains(profiles[plan.names.index(name)]) for name in expected.matched)
