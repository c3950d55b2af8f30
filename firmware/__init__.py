"""Callbox: the firmware of an office phone box with call tracking built in."""

__version__ = "0.1.0"
