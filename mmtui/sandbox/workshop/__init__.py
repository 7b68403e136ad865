"""The workshop's fixtures: what the sandbox holds before Lab 3 starts, as Labs 0-2 leave it.

stacks.py deploys the Mythical Mysfits template (assets/workshop/cfn/) and lays out the
attendee's workshop folder; repositories.py pushes the services' code (assets/services/);
pipelines.py makes and runs the baseline's pipelines; primary_app.py and mysfits.py are the
application and its data; baseline.py seeds all of it, in order.
"""
