"""The fhe layer."""
