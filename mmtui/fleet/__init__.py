"""Instructor fleet commands: the same engine over many attendee accounts at once."""

DEFAULT_CONCURRENCY = 16
"""Accounts worked on at once unless `--concurrency` says otherwise. More does not make a room
faster: a target costs the fleet's one process about a quarter of a second of CPU (its boto3
clients, then building, signing and parsing its calls), so fifty targets keep it busy for
longer than their calls wait on AWS, and more at once only queue more calls at the endpoint
(issue 15: with 80 ms a call, fifty attendees took 15.2 s at 16 and 16.5 s at 64, and the
sandbox's 99th percentile answer rose from 250 to 920 ms)."""
