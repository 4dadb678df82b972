"""The errors of the driven side that are not the core's: each a :class:`MotcuaError`.

Driver errors (SQL, SMTP, HTTP) never leave an adapter as they are: they become these, or the core's
errors (:mod:`motcua.workflow.errors`), at the boundary.
"""

from __future__ import annotations

from motcua.workflow.errors import MotcuaError, Retryable

__all__ = ["PortalAddressInvalid", "PortalUnreachable"]


class PortalUnreachable(Retryable):
    """No answer came (connection refused or reset, timeout): trying later may help."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class PortalAddressInvalid(MotcuaError):
    """The portal's URL cannot be used (unsupported scheme, malformed): no retry will help."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
