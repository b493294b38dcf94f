"""The FHE programs: the interface every program implements, the programs themselves, and their registry."""
