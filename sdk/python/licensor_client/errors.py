"""The one error type of the library."""


class LicensorError(Exception):
    """A failed call or check.

    code is the domain code (invalid, not_found, conflict, unauthenticated,
    permission_denied, failed_precondition, exhausted, unavailable,
    internal); stage says where it failed: dns, tcp, tls, timeout, auth,
    server or verify; retry_after is the server's retry hint in seconds
    (0 when none).
    """

    def __init__(self, code, message, stage="server", retry_after=0.0):
        super().__init__("%s: %s" % (stage, message))
        self.code = code
        self.message = message
        self.stage = stage
        self.retry_after = retry_after


class DeniedError(LicensorError):
    """A capability request that was refused: shortages says what is short."""

    def __init__(self, shortages):
        parts = ", ".join("%s short by %s" % (s.get("feature"), s.get("short")) for s in shortages)
        super().__init__("exhausted", "capabilities denied: " + parts, stage="server")
        self.shortages = shortages
