"""What a run measures: phase spans recorded by the roles, process usage, phase summaries and statistics."""
