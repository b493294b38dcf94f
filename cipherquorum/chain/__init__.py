"""The chain layer."""
