"""Simulated roles (client, respondents, compute nodes, storage, chain), each hosted as a Ray actor."""
