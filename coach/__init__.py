"""Upward: a coach for managing upwards, grounded in a playbook and your own notes."""

__version__ = "0.1.0"
