"""AWS Global Accelerator: its API and accelerators that route (extension.py)."""

from mmtui.sandbox.behaviours.global_accelerator.extension import GlobalAccelerator

__all__ = ["GlobalAccelerator"]
