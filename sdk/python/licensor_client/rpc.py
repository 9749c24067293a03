"""Connect protocol (JSON over HTTPS) with the standard library: every RPC
is a POST of application/json to /licensor.v1.<Service>/<Method>.

Errors come back as {"code", "message"} with the domain code also in the
Licensor-Error-Code header and a retry hint in Licensor-Retry-After-Ms or
Retry-After. Network failures are sorted by stage (dns, tcp, tls,
timeout) so that a person knows what to look at.
"""

import http.client
import json
import socket
import ssl
import struct
import threading
import urllib.parse

from .errors import LicensorError

# Connect error codes mapped to the domain codes, for an answer without the
# Licensor-Error-Code header (a proxy's, say).
_CONNECT_CODES = {
    "invalid_argument": "invalid",
    "not_found": "not_found",
    "already_exists": "conflict",
    "aborted": "conflict",
    "unauthenticated": "unauthenticated",
    "permission_denied": "permission_denied",
    "failed_precondition": "failed_precondition",
    "resource_exhausted": "exhausted",
    "unavailable": "unavailable",
    "deadline_exceeded": "unavailable",
}
MAX_RETRY_HINT = 3600.0
_MAX_BODY = 4 << 20


def retry_hint(headers):
    """The wait, in seconds, a response asks for (0 when none)."""
    for name, scale in (("Licensor-Retry-After-Ms", 1000.0), ("Retry-After", 1.0)):
        v = headers.get(name)
        if v:
            try:
                n = float(v) / scale
            except ValueError:
                continue
            if n > 0:
                return min(n, MAX_RETRY_HINT)
    return 0.0


class Transport:
    """One server, one token, one TLS configuration; safe to share between threads
    (each call opens its own connection)."""

    def __init__(self, server, token, timeout=5.0, ca_file=None, ssl_context=None):
        u = urllib.parse.urlsplit(server)
        if u.scheme != "https" or not u.hostname:
            raise ValueError("server must be an https:// URL, got %r" % server)
        self.server = server.rstrip("/")
        self.host = u.hostname
        self.port = u.port or 443
        self.base = u.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        if ssl_context is None:
            ssl_context = ssl.create_default_context(cafile=ca_file)
        self.ctx = ssl_context
        self._streams = set()
        self._streams_mu = threading.Lock()

    def _request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.ctx)
        try:
            conn.request(method, self.base + path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read(_MAX_BODY)
            return resp.status, resp.headers, data
        except socket.gaierror as e:
            raise LicensorError("unavailable", "cannot resolve %s: %s" % (self.host, e), stage="dns")
        except (socket.timeout, TimeoutError):
            raise LicensorError("unavailable", "no answer from %s within %gs" % (self.server, self.timeout), stage="timeout")
        except ssl.SSLCertVerificationError as e:
            raise LicensorError("unavailable", "the server's certificate is not trusted (give its CA bundle with ca_file): %s" % e, stage="tls")
        except ssl.SSLError as e:
            raise LicensorError("unavailable", "TLS handshake failed (is this a TLS port? does a proxy interfere?): %s" % e, stage="tls")
        except OSError as e:
            raise LicensorError("unavailable", "cannot connect to %s: %s" % (self.server, e), stage="tcp")
        finally:
            conn.close()

    def call(self, service, method, msg):
        """POST msg (a dict) to /licensor.v1.<service>/<method>; return the answer (a dict)."""
        status, headers, data = self._request(
            "POST", "/licensor.v1.%s/%s" % (service, method), json.dumps(msg).encode(),
            {"Content-Type": "application/json", "Authorization": "Bearer " + self.token,
             "Connect-Protocol-Version": "1", "Connect-Timeout-Ms": str(int(self.timeout * 1000))})
        if status == 200:
            try:
                return json.loads(data)
            except ValueError:
                raise LicensorError("unavailable", "the server's answer is not JSON", stage="server")
        raise self._error(status, headers, data)

    def _error(self, status, headers, data):
        try:
            e = json.loads(data)
            if not isinstance(e, dict):
                e = {}
        except ValueError:
            e = {}
        if isinstance(e.get("error"), dict):  # a stream's end message
            e = e["error"]
        code = headers.get("Licensor-Error-Code") or _CONNECT_CODES.get(e.get("code"), "internal")
        if "code" not in e and status in (429, 502, 503, 504):
            code = "exhausted" if status == 429 else "unavailable"
        message = e.get("message") or "HTTP %d from %s" % (status, self.server)
        stage = "auth" if code in ("unauthenticated", "permission_denied") else "server"
        return LicensorError(code, message, stage=stage, retry_after=retry_hint(headers))

    def stream(self, service, method, msg):
        """A server stream (Connect, enveloped JSON): yields each message
        (a dict) until the server ends the stream or close_streams is called.
        No deadline once open; TCP keep-alive notices a dead peer."""
        body = json.dumps(msg).encode()
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.ctx)
        sock = None
        try:
            try:
                conn.request("POST", self.base + "/licensor.v1.%s/%s" % (service, method),
                             body=struct.pack(">BI", 0, len(body)) + body,
                             headers={"Content-Type": "application/connect+json", "Connect-Protocol-Version": "1",
                                      "Authorization": "Bearer " + self.token})
                sock = conn.sock
                with self._streams_mu:
                    self._streams.add(sock)
                resp = conn.getresponse()
                if resp.status != 200:
                    raise self._error(resp.status, resp.headers, resp.read(_MAX_BODY))
                sock.settimeout(None)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                for opt, v in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
                    if hasattr(socket, opt):
                        sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), v)
                while True:
                    head = resp.read(5)
                    if len(head) < 5:
                        raise LicensorError("unavailable", "the stream ended without an end message", stage="tcp")
                    flags, n = struct.unpack(">BI", head)
                    if n > _MAX_BODY:
                        raise LicensorError("unavailable", "stream message of %d bytes is too large" % n, stage="server")
                    data = resp.read(n)
                    if flags & 2:
                        end = json.loads(data or b"{}")
                        if end.get("error"):
                            raise self._error(200, resp.headers, data)
                        return
                    yield json.loads(data)
            except LicensorError:
                raise
            except (socket.timeout, TimeoutError):
                raise LicensorError("unavailable", "no answer from %s within %gs" % (self.server, self.timeout), stage="timeout")
            except ssl.SSLError as e:
                raise LicensorError("unavailable", "TLS: %s" % e, stage="tls")
            except (OSError, ValueError, http.client.HTTPException) as e:
                raise LicensorError("unavailable", "stream from %s broke: %s" % (self.server, e), stage="tcp")
        finally:
            with self._streams_mu:
                self._streams.discard(sock)
            conn.close()

    def close_streams(self):
        """End every open stream (their generators raise or return)."""
        with self._streams_mu:
            socks = list(self._streams)
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def jwks(self, tenant_id):
        """Fetch the tenant's JWKS (raw bytes): /.well-known/jwks.json?tenant=<id>."""
        status, _, data = self._request("GET", "/.well-known/jwks.json?tenant=" + urllib.parse.quote(tenant_id))
        if status != 200:
            raise LicensorError("unavailable", "JWKS: HTTP %d from %s" % (status, self.server), stage="server")
        return data
