"""The market study of seed 000 on the real stack (Ray, py-evm, Pyfhel, a data directory): every count the
small scenario implies, impostors refused after reading all of storage and the chain, the byzantine node slashed."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cipherquorum.marketstudy.matching import Audience, TargetGroup
from cipherquorum.marketstudy.plan import final_profile, plan_respondents
from cipherquorum.reports.run import RunReport
from cipherquorum.settings.scenario import load_scenario


@pytest.mark.slow
def test_the_small_market_study_reaches_every_count_its_scenario_implies(
        run_scenario: Callable[[Path], RunReport], scenario_path: Callable[[str], Path]) -> None:
    """Refused joins are the non-candidates, the authenticated are the candidates with good keys who answered
    right and in time, the matched are those in the target group, the aggregates equal their references, and
    every impostor answer is refused although the impostor read every blob and every chain event."""
    path = scenario_path("market_study_small")
    settings = load_scenario(path).workflows[0]
    report = run_scenario(path)
    (section,) = [s for s in report.workflows if s.name == "market_study"]
    failed = [c for c in section.data["checks"] if not c["ok"]]
    assert section.ok and not failed, failed
    assert report.all_verified

    plan = plan_respondents(settings, "market-study-small-1")  # type: ignore[arg-type]
    profiles = [final_profile(i, name in plan.updaters) for i, name in enumerate(plan.names)]
    for survey, room, auth, matches in zip(settings.surveys, section.data["rooms"],  # type: ignore[attr-defined]
                                           section.data["authentication"], section.data["matches"]):
        audience, target = Audience.of(survey.audience), TargetGroup.of(survey.target_group)
        candidates = [n for n, p in zip(plan.names, profiles) if audience.admits(p.public())]
        assert room["refused"].get("not a candidate", 0) == len(plan.names) - len(candidates)
        refused_at_auth = {n for n in candidates
                           if plan.behaviour.get(n) in ("bad_keys", "wrong_pins", "late_answers")}
        authenticated = [n for n in candidates if n not in refused_at_auth]
        assert auth["accepted"] == len(authenticated)
        in_target = [n for n in authenticated if target.contains(profiles[plan.names.index(n)])]
        assert matches["matched"] == len(in_target) and 0 < len(in_target) < len(authenticated)
        impostors = auth["impostors"]
        assert impostors["answers"] == impostors["refused"] == 2 * 4
        assert impostors["read"]["blobs"] > 100 and impostors["read"]["events"] > 0
    for aggregate in section.data["aggregates"]:
        assert aggregate["equal"] and aggregate["winners"] >= 2, aggregate
    assert section.data["keys"]["refused"]["foreign key bundle"] == 2
    assert section.data["profiles"]["refused"]["stale profile version"] == 2
    byzantine = [n for n in report.nodes if n.behaviour != "honest"]
    assert byzantine and all(n.slashed_wei > 0 for n in byzantine)
    assert all(n.slashed_wei == 0 for n in report.nodes if n.behaviour == "honest")
    for stage in ("authentication", "matching"):
        cost = next(c for c in section.data["cost"]["stages"] if c["stage"] == stage)
        assert cost["tasks"] >= 1 and cost["transactions"] > 0
