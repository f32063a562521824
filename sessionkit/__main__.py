"""``python -m sessionkit``: the ``sessionkit`` command, for when the script is not on PATH."""

from __future__ import annotations

from sessionkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
