"""The wire layer."""
