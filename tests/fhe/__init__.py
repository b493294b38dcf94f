"""Tests of the FHE layer and its programs."""
