r"""File names that are not valid UTF-8, as text that SQLite, JSON and DuckDB can hold.

Linux file names are bytes. One that is not valid UTF-8 (common in archives
copied from other systems) reaches Python with each undecodable byte as a
lone surrogate (``os.fsdecode``'s ``surrogateescape``), which no UTF-8 store
accepts. sessionkit writes such a name, and any path holding one, with each
undecodable byte as ``%XX`` (two upper-case hex digits) and each ``%`` as
``%25``; a name that is valid UTF-8 is kept exactly as it is (so a session
id is its folder name, as the WebUI has it). ``b"Caf\xe9"`` is the session
``Caf%E9``. The file is found again by decoding; a file whose real name is
literally that text (``Caf%E9``) wins over the decoded one.
"""

from __future__ import annotations

import os
import re

_ESCAPED = re.compile(r"%(25|[89A-F][0-9A-F])")
_SURROGATE_FIRST, _SURROGATE_LAST = 0xDC80, 0xDCFF


def to_text(name: str) -> str:
    """The storable text of a name or path as ``os`` functions return it."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_escape(char) for char in name)
    return name


def _escape(char: str) -> str:
    code = ord(char)
    if _SURROGATE_FIRST <= code <= _SURROGATE_LAST:
        return f"%{code - 0xDC00:02X}"
    return "%25" if char == "%" else char


def fs_path(text: str) -> str:
    """The name or path the file system has for ``text``: the inverse of :func:`to_text`."""
    if "%" not in text or os.path.lexists(text):
        return text
    decoded = _ESCAPED.sub(_unescape, text)
    if not any(_SURROGATE_FIRST <= ord(char) <= _SURROGATE_LAST for char in decoded):
        return text  # no undecodable byte: the text was a name as it is
    return decoded


def _unescape(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return "%" if code == 0x25 else chr(0xDC00 + code)
