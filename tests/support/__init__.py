"""Helpers shared by several test folders; modules here hold no tests (a test module imports from here,
never from another test module)."""
