"""Lab 5: load through the accelerator, traffic dials, and a failover of the primary region."""
