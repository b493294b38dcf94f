"""The workflows of the seeds, each driven on a running market: roles, tasks and a report section."""
