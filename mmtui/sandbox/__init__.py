"""The embedded AWS: moto on loopback, extended by mmtui where Lab 3 needs more than moto has.

moto gives the control plane; the extensions in this package add what the lab needs behind
the same AWS APIs (X-Ray groups, global tables, load balancers that answer, ...), a baseline
seeded as if Labs 0-2 were done, and state that survives a restart.
"""

from mmtui.sandbox.moto_repairs import import_speed as _import_speed

# Before anything of the sandbox imports moto: its import is made cheaper from the start.
_import_speed.prepare()
