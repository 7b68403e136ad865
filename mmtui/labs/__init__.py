"""Code of the lab-specific checks and tasks, registered by the names lab content uses."""
