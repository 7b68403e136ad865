"""Instructor fleet commands: the same engine over many attendee accounts at once."""

DEFAULT_CONCURRENCY = 16
"""Accounts worked on at once unless `--concurrency` says otherwise. A target costs the fleet's
one process about 0.05 s of CPU since its clients are shared with the other targets
(target/pool.py); the rest of its time is waiting on AWS. Measured on the 2-core machine with 80
ms a call (issue 15, benchmarks/fleet_scale.py, the sandbox on the same two cores, keeping its
connections alive): fifty attendees took 8.3 s at 16 (5.6x one attendee) and 4.05 s at 50
(3.0x), while the sandbox's 99th percentile answer grew from 1.4 to 2.1-3.3 times its median:
one process answers every account, each call's CPU through one interpreter lock. Against AWS,
whose servers do not share the instructor's cores, a room of fifty is quicker with
`--concurrency 50`; the default spares a sandbox serving the room."""
