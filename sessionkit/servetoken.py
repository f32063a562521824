"""Who may use ``sessionkit serve``: whoever holds its token (docs/cli.md, ``serve``).

Voila loads :class:`TokenOnly` by name in its own process. Jupyter's
identity provider already checks a token given in the URL (``?token=``) or
the ``Authorization: token ...`` header, and then sets a cookie for the
page's further requests. This one refuses (403) every request that carries
none of them, where Jupyter would redirect to a login page, and so no
kernel starts for it.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web

from sessionkit.kit import TOKEN_ENV


class TokenOnly(IdentityProvider):
    """Jupyter's token check with no login page; the token comes from ``SESSIONKIT_TOKEN``.

    Read from the environment ``sessionkit serve`` gives Voila, not from its
    command line, which other users of the machine can read. Without a token
    it refuses to start: a server meant to be locked must never run open.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = os.environ.get(TOKEN_ENV, "")
        if not self.token:
            raise ValueError(f"{TOKEN_ENV} is not set: sessionkit serve sets it")

    @property
    def login_available(self) -> bool:
        return False

    async def get_user(self, handler: web.RequestHandler) -> User:
        """The user the token or its cookie names; a request with neither gets 403."""
        found = super().get_user(handler)
        user = await found if inspect.isawaitable(found) else found
        if user is None:
            raise web.HTTPError(403, "sessionkit serve: open the URL with its ?token=")
        return user
