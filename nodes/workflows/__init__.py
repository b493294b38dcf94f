"""The workflows of the seeds, each driven on a running market: roles, tasks and a report section.

A workflow is a scenario section (its reader is registered in ``cipherquorum.settings.workflows``) and a driver
registered here: ``drive(settings, context: WorkflowContext) -> WorkflowSection``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cipherquorum.exceptions import ScenarioError
from cipherquorum.nodes.workflows.context import WorkflowContext
from cipherquorum.reports.run import WorkflowSection
from cipherquorum.settings.workflows import WorkflowSettings, import_path

WORKFLOW_DRIVERS: dict[str, str] = {
    "joint_stats": "cipherquorum.nodes.workflows.joint_stats:drive",
    "federated": "cipherquorum.nodes.workflows.federated:drive",
    "market_study": "cipherquorum.nodes.workflows.market_study:drive",
    "psi": "cipherquorum.nodes.workflows.psi:drive",
    "split_inference": "cipherquorum.nodes.workflows.split_inference:drive",
}
"""Each workflow section's name, to its driver as a lazy "module:function" path."""

Driver = Callable[[Any, WorkflowContext], WorkflowSection]


def workflow_driver(section: str) -> Driver:
    """Return the driver registered for ``section``; raises ScenarioError if none is, or it cannot be imported."""
    path = WORKFLOW_DRIVERS.get(section)
    if path is None:
        raise ScenarioError(f"No workflow drives a [{section}] section (known: {', '.join(sorted(WORKFLOW_DRIVERS))})")
    return import_path(path, f"the driver of [{section}]")


def drive_workflow(settings: WorkflowSettings, context: WorkflowContext) -> WorkflowSection:
    """Run one workflow on the market in ``context`` and return its section; its roles are stopped after."""
    try:
        return workflow_driver(settings.section)(settings, context)
    finally:
        context.close()


__all__ = ["WORKFLOW_DRIVERS", "WorkflowContext", "drive_workflow", "workflow_driver"]
