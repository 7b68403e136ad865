"""Instructor fleet commands: the same engine over many attendee accounts at once."""

DEFAULT_CONCURRENCY = 50
"""Accounts checked at once (`fleet check`, `fleet watch`) unless `--concurrency` says
otherwise: a room of fifty all at once. A target costs the fleet's one process about 0.04 s of
CPU, since its clients are shared with the other targets (target/pool.py); the rest of its time
is waiting on AWS. Measured on the 2-core machine with 80 ms a call (issue 15,
benchmarks/fleet_scale.py, the sandbox serving the room on the same two cores): fifty attendees
took 2.2-2.4 times one attendee's time at 50, the sandbox's 99th percentile answer 1.6-1.8
times its median; at 16, 5.3 times (three to four waves of targets, each waiting on its calls),
the 99th percentile 1.2 times. (16 was the default while, at 50, the sandbox's 99th percentile
was over twice its median: before its lock was handed over in order, its built state kept out
of full collections, moto's Flask application bypassed and each target began its round at
another check.)"""

DEFAULT_CHANGE_CONCURRENCY = 16
"""Accounts solved or reset at once (`fleet solve`, `fleet reset`) unless `--concurrency` says
otherwise. A solve changes an account for minutes (stacks, pushes, builds): on a sandbox that
serves the room from the instructor's machine, each running build is a process of its own, and
fifty at once would be slower than sixteen at a time; against AWS, raise it."""
