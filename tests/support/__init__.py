"""Helpers shared by tests of several packages; never a test module of their own."""
