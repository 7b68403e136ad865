"""What several labs of the workshop share: reading the Mysfits site, fetching facts once."""
