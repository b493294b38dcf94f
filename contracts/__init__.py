"""The TaskMarket contract's source and its committed compiled artifact, shipped as package data."""
