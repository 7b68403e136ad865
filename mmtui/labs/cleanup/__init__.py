"""`mmtui cleanup`: the whole workshop removed from an attendee's account, in the order AWS
allows, composed from the labs' own pieces (Lab 4's accelerator teardown, Lab 3's replica
removal and repository emptying) and the deletion of the two stacks past what blocks them.

`plan.py` says what there is to remove, section by section, and what is left alone and why;
`stack_deletion.py` deletes a stack to the end (events read, safe blocks removed, retried);
`permissions.py` declares the IAM actions it needs (`mmtui policy cleanup`).
"""
