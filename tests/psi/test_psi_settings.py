"""The [psi] scenario section: defaults, rounds, and refusals that name the field."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.psi.settings import PsiSettings
from cipherquorum.settings.scenario import parse_scenario


def _document(**psi: object) -> dict:
    return {
        "run": {"name": "psi", "seed": "psi-test"},
        "market": {"replication": 3, "quorum": 2},
        "nodes": [{"count": 2, "behaviour": "honest"}, {"count": 1, "behaviour": "wrong"}],
        "psi": {"rounds": [{"provider_items": 100}], **psi},
    }


def test_a_psi_section_is_read_with_its_defaults() -> None:
    """[psi] with one round reads as 256 requester items, part size 16, 2-bit windows, labeled rounds."""
    (settings,) = parse_scenario(_document()).workflows
    assert isinstance(settings, PsiSettings)
    assert (settings.section, settings.clients, settings.requester_items, settings.part_size,
            settings.window_bits) == ("psi", 1, 256, 16, 2)
    assert [(r.provider_items, r.labeled) for r in settings.rounds] == [(100, True)]


@pytest.mark.parametrize("change, field", [
    ({"requester_items": 0}, "psi.requester_items"),
    ({"overlap": 1.5}, "psi.overlap"),
    ({"part_size": 65}, "psi.part_size"),
    ({"window_bits": 0}, "psi.window_bits"),
    ({"time_limit_s": 0}, "psi.time_limit_s"),
    ({"rounds": []}, "psi.rounds"),
    ({"rounds": [{"provider_items": 0}]}, r"psi.rounds\[0\].provider_items"),
    ({"rounds": [{"provider_items": 10, "size": 3}]}, r"psi.rounds\[0\]"),
    ({"colour": "red"}, "psi"),
])
def test_a_bad_psi_section_is_refused_naming_the_field(change: dict, field: str) -> None:
    """A bad value or an unknown key in [psi] raises ScenarioError naming its dotted path."""
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        parse_scenario(_document(**change))
