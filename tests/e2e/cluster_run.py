"""Run a scenario on a two-node Ray cluster started on this machine; prints where each actor ran as JSON."""
from __future__ import annotations

import json
import sys

import ray
from ray.cluster_utils import Cluster

from cipherquorum.nodes.driver.runner import MarketRun
from cipherquorum.nodes.hosting import CHAIN_RESOURCE, STORAGE_RESOURCE
from cipherquorum.settings.scenario import load_scenario


def main(scenario_path: str, data_dir: str) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "resources": {CHAIN_RESOURCE: 1, STORAGE_RESOURCE: 1}})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        report = MarketRun(load_scenario(scenario_path), ray_address=cluster.address, data_dir=data_dir).run()
        print(json.dumps({"report": report.to_json_dict(), "nodes": len(cluster.list_all_nodes())}))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
