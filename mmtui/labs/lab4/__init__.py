"""Lab 4: Global Accelerator in front of both regions' load balancers."""
