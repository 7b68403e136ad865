"""Lab 3, Preparing for Multi-Region Deployments."""
