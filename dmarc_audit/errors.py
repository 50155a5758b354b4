"""Errors a user can cause. They print as one line and exit with status 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: a flag value, an unreadable or malformed file, an invalid name.

    The message must say what is wrong and where, in one line.
    """
