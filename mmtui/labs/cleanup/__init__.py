"""`mmtui cleanup`: the whole workshop removed from an attendee's account, in the order AWS
allows, composed from the labs' own pieces (Lab 4's accelerator teardown, Lab 3's replica
removal and repository emptying) and the deletion of the two stacks past what blocks them.

`plan.py` says what there is to remove, section by section, and what is left alone and why;
`stack_deletion.py` deletes a stack to the end (events read, safe blocks removed, retried);
`permissions.py` declares the IAM actions it needs (`mmtui policy cleanup`).
"""

NAMES_LAB = "3"
"""The lab whose parameters name the workshop's stacks and table (the names a user may choose
with --primary-stack and friends are validated against it)."""

HELP = """Remove the whole workshop from the account, in the order that works.

In order: Lab 4's accelerator; Lab 3's replica of the table; the secondary stack (its image
repositories emptied first); then the primary stack, after what the workshop made around it:
Lab 0's services, the images and pipeline artifacts, the pipelines' bucket in the secondary
region, the X-Ray groups in both regions and the Fully-Prepared-Dashboard stack. A deletion
that fails is explained from the stack's events; what blocks it is removed when it is the
workshop's own, and the deletion retried.

Only what the workshop makes is touched, found by name and by belonging to its stacks; the
plan says what is left alone and why. Without --yes it asks (and refuses without a
terminal). Run it again after an interruption: it continues from what AWS shows.
"""
"""`mmtui cleanup --help` (the command line holds no lab's words: they are said here)."""
