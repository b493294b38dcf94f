"""The scenario driver: start a market's roles, run a scenario, generate load and benchmark it."""
