"""Split inference (seed 003): a model owner's partitioned model, its first layers run under CKKS on the market."""
