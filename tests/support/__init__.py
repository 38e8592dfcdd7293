"""Helpers shared by the test suites (importable as ``support`` once tests/conftest.py is loaded)."""
