"""Where the AWS is: target resolution, regions, per-thread clients and the account identity."""
