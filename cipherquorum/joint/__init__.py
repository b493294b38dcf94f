"""Joint statistics and federated learning across data owners (seed 004), under an analyst's key."""
