"""Instructor fleet commands: the same engine over many attendee accounts at once."""

DEFAULT_CONCURRENCY = 64
"""Accounts worked on at once unless `--concurrency` says otherwise: a whole room (the
workshop's rooms hold up to fifty attendees) in one round. A target's work is mostly waiting
on AWS, so fifty at once take little more than one (issue 15; with 16, fifty attendees took
four rounds)."""
