"""Helpers shared by tests; subprocess runs import them with ``PYTHONPATH=tests``."""
