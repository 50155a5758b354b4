"""Secrets kept in files: one place that reads them, and refuses files others may read.

The digest's SMTP password, the IMAP password and any other credential given as a
file go through :func:`read_password_file`; a secret is never taken from argv.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dmarc_audit.errors import InputError


def read_password_file(path: str, option: str) -> str:
    """The first line of ``path``; refused when the group or others may read the file."""
    p = Path(path)
    try:
        info = p.stat()
    except OSError as exc:
        raise InputError(f"{option} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{option} {path}: not a regular file")
    if os.name == "posix" and info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        mode = stat.S_IMODE(info.st_mode)
        raise InputError(
            f"{option} {path}: readable by group or others (mode {mode:04o}); "
            f"run 'chmod 600 {path}'"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{option} {path}: {why}") from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise InputError(f"{option} {path}: the file is empty")
    return password
