"""The command line of DESIGN.md. It is a contract: scripts and tests depend on every name here.

One module per command (or command group), a root that gathers them (`root`), and the entry
point (`entry.main`, the `mmtui` script and `python -m mmtui`). Only click is imported at module
level so that `mmtui --help` stays fast; each command imports what it needs when it runs.
Errors a user can act on are `MmtuiError`s, printed as one line on stderr with the contract's
exit code; nothing reaches the terminal as a traceback.
"""

from mmtui.cli.entry import main
from mmtui.cli.lint import installed_registrations
from mmtui.cli.root import cli

__all__ = ["cli", "installed_registrations", "main"]
