"""Starting the roles of a joint job on the market: the analyst (key holder) and one actor per data owner."""
from __future__ import annotations

from cipherquorum.fhe import KeyNeeds
from cipherquorum.joint.data import ShareSpec
from cipherquorum.nodes.analyst import Analyst
from cipherquorum.nodes.data_owner import DataOwner
from cipherquorum.nodes.hosting import ActorHost
from cipherquorum.nodes.workflows.context import WorkflowContext


def start_analyst(context: WorkflowContext, preset: str, needs: KeyNeeds, name: str,
                  title: str) -> ActorHost[Analyst]:
    """The key holder in its own actor (its secret key never leaves that process)."""
    return context.host(Analyst, context.stack.store, preset, needs, name, name=name, title=title)


def start_owners(context: WorkflowContext, specs: list[ShareSpec], prefix: str) -> list[ActorHost[DataOwner]]:
    """One actor per owner, each loading its own share inside its process."""
    return [context.host(DataOwner, context.stack.store, spec, name=f"{prefix}-owner-{spec.index}",
                         title=f"data owner {spec.index} ({prefix})") for spec in specs]
