"""mmtui: a terminal guide for the Mythical Mysfits multi-region BC/DR workshop.

The package root stays import-light on purpose: `mmtui --help` and the headless commands must
not pay for Textual, boto3 or moto unless they use them.
"""

__version__ = "0.1.0"
