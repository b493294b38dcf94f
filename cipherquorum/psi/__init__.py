"""Private set intersection (seed 004): a requester's encrypted items against a provider's set, labeled."""
