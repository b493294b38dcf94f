"""The [joint_stats] and [federated] readers: defaults, and each bad field refused with its name and value."""
from __future__ import annotations

import pytest

from cipherquorum.exceptions import ScenarioError
from cipherquorum.joint.settings import read_federated, read_joint_stats
from cipherquorum.settings.toml import TableReader


def test_defaults_read_an_empty_section() -> None:
    """Empty sections give three owners, the diabetes / breast cancer data, the bfv presets and masked joint
    statistics."""
    joint = read_joint_stats(TableReader("s.toml", "joint_stats", {}))
    federated = read_federated(TableReader("s.toml", "federated", {}))
    assert (joint.section, joint.clients, joint.owners, joint.dataset, joint.preset) == (
        "joint_stats", 1, 3, "diabetes", "bfv-8192-wide")
    assert joint.mode == "masked"
    assert read_joint_stats(TableReader("s.toml", "joint_stats", {"mode": "encrypted_rows"})).mode == "encrypted_rows"
    assert (federated.section, federated.rounds, federated.preset, federated.terms.weight_scale) == (
        "federated", 5, "bfv-8192", 10_000)


@pytest.mark.parametrize(("reader", "table", "message"), [
    (read_joint_stats, {"owners": 2}, "joint_stats.owners: must be >= 3 (got 2)"),
    (read_joint_stats, {"dataset": "iris"}, "joint_stats.dataset: must be one of diabetes (got 'iris')"),
    (read_joint_stats, {"preset": "ckks-8192"}, "joint_stats.preset: must be a bfv preset"),
    (read_joint_stats, {"preset": "nope"}, "joint_stats.preset: must be one of"),
    (read_joint_stats, {"feature_scale": 0}, "joint_stats.feature_scale: must be >= 1 (got 0)"),
    (read_joint_stats, {"colour": 1}, "joint_stats: unknown field(s): colour"),
    (read_joint_stats, {"mode": "plain"}, "joint_stats.mode: must be one of masked, encrypted_rows (got 'plain')"),
    (read_federated, {"rounds": 0}, "federated.rounds: must be >= 1 (got 0)"),
    (read_federated, {"learning_rate": -1.0}, "federated.learning_rate: must be a finite number > 0 (got -1.0)"),
    (read_federated, {"l2": -0.5}, "federated.l2: must be a finite number >= 0 (got -0.5)"),
    (read_federated, {"test_fraction": 0.95}, "federated.test_fraction: must be in (0, 0.9) (got 0.95)"),
    (read_federated, {"clients": 2}, "federated.clients: must be <= 1 (got 2)"),
])
def test_bad_fields_are_refused(reader, table: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    """Each bad field gives a ScenarioError naming the file, the field and the value."""
    with pytest.raises(ScenarioError) as raised:
        reader(TableReader("s.toml", reader.__name__.removeprefix("read_"), table))
    assert f"s.toml: {message}" in str(raised.value)
