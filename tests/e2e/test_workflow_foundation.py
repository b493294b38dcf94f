"""A workflow section runs on the market: its settings are read, its driver creates tasks under an owner's key."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from cipherquorum.exceptions import ScenarioError, ValidationError
from cipherquorum.fhe import Ciphertext, SecretKeyOwner
from cipherquorum.nodes.client import TaskSpec
from cipherquorum.nodes.workflows import WORKFLOW_DRIVERS, WorkflowContext
from cipherquorum.reports.run import WorkflowSection, text_table
from cipherquorum.settings import workflows
from cipherquorum.settings.scenario import parse_scenario
from cipherquorum.settings.toml import TableReader
from cipherquorum.types import ExecStatus

PRESET = "bfv-2048"


@dataclass(frozen=True)
class OwnedSumSettings:
    """A test workflow: one key owner, ``owners`` data holders encrypting under its key, one sum task each."""

    owners: int
    values: tuple[int, ...]
    fail: bool = False
    section: str = "owned_sum"
    clients: int = 1


def read_owned_sum(reader: TableReader) -> OwnedSumSettings:
    """Read [owned_sum]: owners (1..8), values (ints), fail (raise in the driver)."""
    settings = OwnedSumSettings(owners=reader.integer("owners", 3, minimum=1, maximum=8),
                                values=tuple(int(v) for v in reader.strings("values", ("1", "2", "3"))),
                                fail=reader.boolean("fail", False))
    reader.finish()
    return settings


def drive_owned_sum(settings: OwnedSumSettings, context: WorkflowContext) -> WorkflowSection:
    """Encrypt each owner's values under the key owner's bundle; a keyless requester has the nodes sum them."""
    if settings.fail:
        raise ValidationError("owned_sum was told to fail (fail=true)")
    keys = SecretKeyOwner.generate(PRESET)
    store = context.stack.store
    bundle_ref = store.put(keys.bundle.to_bytes())
    owners = [[value * (owner + 1) for value in settings.values] for owner in range(settings.owners)]
    refs = store.put_many([keys.encrypt(values).to_bytes() for values in owners])
    spec = TaskSpec(label="owned-sum", program="sum@1", input_refs=tuple(refs), key_bundle_ref=bundle_ref,
                    preset=PRESET, result_slots=len(settings.values))
    (outcome,) = context.run_tasks(context.clients[0], [spec])
    decrypted = [keys.decrypt(Ciphertext.from_bytes(blob), len(settings.values)) for blob in outcome.outputs]
    reference = [sum(column) for column in zip(*owners)]
    ok = outcome.proof_verified and outcome.status is ExecStatus.SUCCESS and decrypted == [reference]
    data = {"task": outcome.task_id, "decrypted": decrypted, "reference": reference,
            "winners": list(outcome.winners), "block": outcome.proof_block, "client_decrypted": outcome.decrypted}
    text = "\n".join(text_table("Owned sum", ["task", "decrypted", "reference", "winners"],
                                [[str(outcome.task_id), str(decrypted), str(reference), str(len(outcome.winners))]]))
    return WorkflowSection("owned_sum", ok, data, text)


@pytest.fixture
def owned_sum(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test workflow under [owned_sum] for the test's duration."""
    monkeypatch.setitem(workflows.SECTION_READERS, "owned_sum", f"{__name__}:read_owned_sum")
    monkeypatch.setitem(WORKFLOW_DRIVERS, "owned_sum", f"{__name__}:drive_owned_sum")


def _document(**section: object) -> dict:
    return {
        "run": {"name": "owned-sum", "seed": "owned-sum-1"},
        "market": {"replication": 3, "quorum": 2, "commit_window_s": 60, "reveal_window_s": 30},
        "nodes": [{"count": 2, "behaviour": "honest"}, {"count": 1, "behaviour": "wrong"}],
        "owned_sum": section,
    }


def test_a_scenario_of_a_workflow_alone_needs_no_studies(owned_sum: None) -> None:
    """A scenario with a workflow section parses without [[studies]], and funds the workflow's client."""
    scenario = parse_scenario(_document(owners=2))
    assert scenario.studies == ()
    assert [s.section for s in scenario.workflows] == ["owned_sum"]
    assert scenario.client_accounts == 1 and scenario.workflow_clients() == [range(0, 1)]


@pytest.mark.parametrize("section, field", [
    ({"owners": 0}, "owned_sum.owners"),
    ({"colour": "red"}, "owned_sum"),
])
def test_a_bad_workflow_section_is_refused_naming_the_field(owned_sum: None, section: dict, field: str) -> None:
    """A workflow section's reader refuses a bad value or an unknown key with the field's name."""
    with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
        parse_scenario(_document(**section))


def test_without_studies_or_a_workflow_section_a_scenario_is_refused() -> None:
    """A scenario that runs nothing is refused: [[studies]] is required when no workflow section is present."""
    document = _document()
    del document["owned_sum"]
    with pytest.raises(ScenarioError, match="studies"):
        parse_scenario(document)


@pytest.mark.slow
def test_a_workflow_runs_tasks_under_its_owners_key_and_reports(owned_sum: None, run_on_devnet) -> None:
    """The driver's task runs under the key owner's bundle from a keyless client: the nodes agree (the wrong node
    is outvoted), the client gets the verified ciphertexts undecrypted, and the owner's decryption is the sum;
    progress is reported from the chain while the workflow runs."""
    progress: list = []
    ran = run_on_devnet(_document(owners=3, values=["4", "5", "6"]), on_progress=progress.append,
                        progress_interval_s=0.05)
    (section,) = ran.report.workflows
    assert section.ok, section.data
    assert section.data["reference"] == [24, 30, 36]
    assert section.data["client_decrypted"] is None  # the requester holds no key
    assert len(section.data["winners"]) >= 2 and section.data["block"] > 0
    assert ran.report.all_verified
    assert "Owned sum" in ran.report.render_text()
    assert ran.report.to_json_dict()["workflows"][0]["name"] == "owned_sum"
    assert sum(node.assigned for node in ran.report.nodes) == 3  # the workflow's one task, three replicas
    seen = [p for p in progress if p.phase == "workflow owned_sum"]
    assert seen and seen[-1].created == 1 and max(p.committed for p in seen) >= 2


@pytest.mark.slow
def test_a_failing_workflow_is_reported_not_raised(owned_sum: None, run_on_devnet) -> None:
    """A driver that raises the project's error gives a section that is not ok and names the error."""
    ran = run_on_devnet(_document(fail=True))
    (section,) = ran.report.workflows
    assert not section.ok and "fail=true" in section.data["error"]
    assert not ran.report.all_verified
