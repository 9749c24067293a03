"""The Python library against a real licensor server (tests/server.py)."""

import base64
import http.server
import json
import os
import ssl
import subprocess
import tempfile
import threading
import unittest

import licensor_client as lc
from licensor_client.rpc import Transport

from server import Server

DAY = 86400.0
SRV = None


def setUpModule():
    global SRV
    SRV = Server()


def tearDownModule():
    SRV.close()


class Clock:
    """An injected clock the tests move; starts at the real time."""

    def __init__(self):
        import time
        self.t = time.time()

    def __call__(self):
        return self.t


def jwks():
    return Transport(SRV.demo["server"], SRV.demo["token"], ca_file=SRV.cert).jwks(SRV.demo["tenant_id"])


def new_client(clock, cache_dir=None, **kw):
    d = SRV.demo
    args = dict(server=d["server"], token=d["token"], contract_id=d["contract_id"], tenant_id=d["tenant_id"],
                ca_file=SRV.cert, cache_dir=cache_dir, now=clock, rand=lambda: 0.5, sleep=lambda s: None)
    args.update(kw)
    return lc.Client(**args)


class Recorder:
    def __init__(self, c):
        self.events = []
        c.on_change(lambda lic: self.events.append(("change", lic.claims["jti"])))
        c.on_expiring_soon(lambda left: self.events.append(("expiring_soon", round(left / DAY))))
        c.on_expired(lambda: self.events.append(("expired",)))
        c.on_error(lambda e: self.events.append(("error", e.stage, e.code)))

    def names(self):
        return [e[0] for e in self.events]


class LicenseTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="licensor-py-cache-")

    def test_refresh_schedule_and_cache(self):
        clock = Clock()
        c = new_client(clock, self.dir, instance_id="py-sched")
        lic = c.refresh()
        self.assertEqual(lic.source, "server")
        self.assertTrue(c.allowed("reporting"))
        self.assertEqual(c.count("solver"), 50)
        # rand 0.5 is the middle of the ±10% jitter: exactly refresh_after.
        self.assertAlmostEqual(c.status().next_attempt - c.now(), lic.claims["refresh_after"], delta=1)
        path = os.path.join(self.dir, "licensor-%s.json" % SRV.demo["contract_id"])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path) as f:
            self.assertEqual(json.load(f)["token"], lic.token)

        # A restart with the server unreachable starts from the cache at once.
        offline = new_client(Clock(), self.dir, instance_id="py-sched", server="https://127.0.0.1:1")
        st = offline.start()
        offline.close()
        self.assertEqual((st.state, offline.license().source), (lc.VALID, "cache"))

    def test_start_from_cache_then_checks_in_background(self):
        new_client(Clock(), self.dir, instance_id="py-bg").refresh()
        c = new_client(Clock(), self.dir, instance_id="py-bg", server="https://127.0.0.1:1")
        failed = threading.Event()
        errors = []
        c.on_error(lambda e: (errors.append((e.stage, e.code)), failed.set()))
        st = c.start()
        try:
            self.assertEqual(st.state, lc.VALID)
            # The background thread checks at once, fails, and says so once;
            # the bound only keeps a broken loop from hanging the suite.
            self.assertTrue(failed.wait(30), "no check in the background")
        finally:
            c.close()
        self.assertEqual(errors, [("tcp", "unavailable")])
        self.assertEqual(c.status().state, lc.VALID)

    def test_go_client_starts_from_this_cache(self):
        # The cache is the Go client's format: the sidecar (the Go client)
        # starts from what this library wrote, with the server unreachable.
        new_client(Clock(), self.dir, instance_id="py-shared").refresh()
        out = os.path.join(self.dir, "agent.json")
        d = SRV.demo
        agent = subprocess.Popen(
            [SRV.binary, "agent", "--server", "https://127.0.0.1:1", "--token", d["token"], "--ca-cert", SRV.cert,
             "--contract", d["contract_id"], "--tenant", d["tenant_id"], "--instance", "py-shared",
             "--cache-dir", self.dir, "--out", out, "--listen", "127.0.0.1:0", "--no-watch"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            # Printed once the license is out, among the warnings of the
            # background check that fails; EOF if the agent exits.
            for line in agent.stderr:
                if "license on" in line:
                    break
            else:
                self.fail("the agent exited without serving a license")
            with open(out) as f:
                status = json.load(f)["status"]
        finally:
            agent.terminate()
            agent.wait(10)
            agent.stderr.close()
        self.assertEqual((status["state"], status.get("source")), ("valid", "cache"))

    def test_static_license_file_offline(self):
        # An armored file issued by the vendor, used with no server at all.
        path = os.path.join(self.dir, "product.lic")
        with open(path, "w") as f:
            f.write(SRV.issue_static("py-static", "30d"))
        clock = Clock()
        c = lc.Client(contract_id=SRV.demo["contract_id"], instance_id="py-static", keys=jwks(),
                      tenant_id=SRV.demo["tenant_id"], license_file=path, now=clock)
        rec = Recorder(c)
        st = c.start()
        self.assertEqual((st.state, c.license().source, c.license().claims["kind"]), (lc.VALID, "file", "static"))
        self.assertEqual(c.count("solver"), 50)
        clock.t += 24 * DAY
        self.assertEqual(c.status().state, lc.EXPIRING_SOON)
        clock.t += 7 * DAY
        self.assertEqual(c.status().state, lc.EXPIRED)
        self.assertEqual(rec.names(), ["change", "expiring_soon", "expired"])
        # A file for another instance is refused.
        other = lc.Client(contract_id=SRV.demo["contract_id"], instance_id="py-other", keys=jwks(), license_file=path)
        self.assertFalse(other.start().licensed)

    def test_contract_change_and_key_rotation(self):
        d = SRV.demo
        admin = Transport(d["server"], d["admin_token"], ca_file=SRV.cert)
        c = new_client(Clock(), self.dir, instance_id="py-rotate")  # JWKS fetched and cached
        rec = Recorder(c)
        first = c.refresh()
        admin.call("AdminService", "ExtendContract", {"tenant_id": d["tenant_id"], "contract_id": d["contract_id"], "extend_by": "86400s"})
        admin.call("AdminService", "RotateSigningKey", {"tenant_id": d["tenant_id"]})
        # A restart: the cached JWKS does not know the new key, so the client
        # fetches the set again and verifies the license the new key signed.
        again = new_client(Clock(), self.dir, instance_id="py-rotate")
        rec2 = Recorder(again)
        second = again.refresh()
        kid = lambda tok: json.loads(base64.urlsafe_b64decode(tok.split(".")[0] + "=="))["kid"]
        self.assertNotEqual(kid(second.token), kid(first.token))
        self.assertGreater(second.claims["contract_version"], first.claims["contract_version"])
        # The cached license was the restarted client's first; the new
        # contract version is a change.
        self.assertEqual(rec.names(), ["change"])
        self.assertEqual(rec2.names(), ["change", "change"])

    def test_stream_brings_contract_change(self):
        d = SRV.demo
        c = new_client(Clock(), instance_id="py-watch", watch=True)
        self.assertEqual(c.start().state, lc.VALID)  # the first license, polled
        changed = threading.Event()
        sources = []
        c.on_change(lambda lic: (sources.append(lic.source), changed.set()))
        try:
            Transport(d["server"], d["admin_token"], ca_file=SRV.cert).call(
                "AdminService", "ExtendContract", {"tenant_id": d["tenant_id"], "contract_id": d["contract_id"], "extend_by": "3600s"})
            # The next poll is two hours away: only the stream can bring it.
            # The bound only keeps a broken stream from hanging the suite.
            self.assertTrue(changed.wait(60), "no change on the stream")
        finally:
            c.close()
        self.assertEqual(sources, ["stream"])

    def test_instance_id_persisted(self):
        a = new_client(Clock(), self.dir)
        b = new_client(Clock(), self.dir)
        self.assertEqual(a.instance_id, b.instance_id)
        self.assertTrue(a.instance_id.startswith("inst-"))

    def test_events_once_per_change(self):
        clock = Clock()
        c = new_client(clock, instance_id="py-events")
        rec = Recorder(c)
        c.refresh()
        c.refresh()  # a routine refresh fires nothing
        self.assertEqual(rec.names(), ["change"])
        clock.t += 8 * DAY
        for _ in range(3):
            st = c.status()
        self.assertEqual(st.state, lc.EXPIRING_SOON)
        self.assertEqual(rec.events[1:], [("expiring_soon", 6)])
        clock.t += 7 * DAY
        for _ in range(3):
            self.assertFalse(c.status().licensed)
        self.assertEqual(rec.names(), ["change", "expiring_soon", "expired"])
        self.assertFalse(c.allowed("reporting"))

    def test_clock_never_earlier_than_server_time(self):
        # A machine clock 30 days behind: without the floor of the server's
        # time the fresh license would be "not valid yet".
        clock = Clock()
        clock.t -= 30 * DAY
        c = new_client(clock, self.dir, instance_id="py-rollback")
        iat = c.refresh().claims["iat"]
        self.assertGreaterEqual(c.now(), iat)
        self.assertEqual(c.status().state, lc.VALID)
        # The floor is persisted with the cache: a restart knows it too.
        again = new_client(clock, self.dir, instance_id="py-rollback", server="https://127.0.0.1:1")
        self.assertEqual(again.status().state, lc.VALID)
        self.assertGreaterEqual(again.now(), iat)

    def test_auth_failure_backs_off_and_reports_once(self):
        clock = Clock()
        c = new_client(clock, token="lsr_con_wrong", instance_id="py-auth", min_backoff=1, max_backoff=300)
        rec = Recorder(c)
        for n in (1, 2):
            with self.assertRaises(lc.LicensorError) as cm:
                c.refresh()
            self.assertEqual((cm.exception.stage, cm.exception.code), ("auth", "unauthenticated"))
        # rand 0.5 of a ceiling of 2 s (second retry) is 1 s, the floor.
        self.assertAlmostEqual(c.status().next_attempt - c.now(), 1.0, delta=0.01)
        self.assertEqual(rec.events, [("error", "auth", "unauthenticated")])
        self.assertFalse(c.status().licensed)

    def test_pinned_keys(self):
        c = new_client(Clock(), instance_id="py-pinned", keys=jwks(), tenant_id=None)
        self.assertEqual(c.refresh().claims["iss"], SRV.demo["tenant_id"])
        other = {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": json.loads(jwks())["keys"][0]["kid"],
                           "x": base64.urlsafe_b64encode(b"\x01" * 32).rstrip(b"=").decode()}]}
        wrong = new_client(Clock(), instance_id="py-pinned", keys=other, tenant_id=None)
        with self.assertRaises(lc.LicensorError) as cm:
            wrong.refresh()
        self.assertEqual(cm.exception.stage, "verify")

    def test_verify_offline(self):
        c = new_client(Clock(), instance_id="py-offline")
        token = c.refresh().token
        keys = lc.parse_jwks(jwks())
        claims = lc.verify_license(token, keys)
        self.assertEqual(claims["features"]["solver"], 50)
        h, p, s = token.split(".")
        bad = {
            "tampered payload": h + "." + p[:-2] + ("AA" if p[-2:] != "AA" else "BB") + "." + s,
            "alg none": base64.urlsafe_b64encode(b'{"alg":"none","typ":"license+jwt","kid":"x"}').rstrip(b"=").decode() + "." + p + ".",
            "truncated": h + "." + p,
        }
        for name, tok in bad.items():
            with self.subTest(name):
                with self.assertRaises(lc.LicensorError):
                    lc.verify_license(tok, keys)
        with self.assertRaises(lc.LicensorError) as cm:
            lc.verify_license(token, keys, now=claims["exp"] + 3600)
        self.assertEqual(cm.exception.code, "failed_precondition")


class _Busy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"code":"resource_exhausted","message":"too many concurrent requests"}'
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Licensor-Error-Code", "exhausted")
        self.send_header("Licensor-Retry-After-Ms", "2500")
        self.send_header("Retry-After", "3")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class RetryHintTest(unittest.TestCase):
    """A server that answers 429 with a retry hint: the client waits at least the hint."""

    def setUp(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(SRV.cert, SRV.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.server = "https://127.0.0.1:%d" % self.httpd.server_address[1]

    def tearDown(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def test_license_retry_honours_hint(self):
        clock = Clock()
        c = new_client(clock, server=self.server, keys=jwks(), tenant_id=None, instance_id="py-busy")
        with self.assertRaises(lc.LicensorError) as cm:
            c.refresh()
        self.assertEqual((cm.exception.code, cm.exception.retry_after), ("exhausted", 2.5))
        # 2.5 s plus rand 0.5 of a tenth of it.
        self.assertAlmostEqual(c.status().next_attempt - c.now(), 2.625, delta=0.01)

    def test_capability_retries_then_gives_up(self):
        waits = []
        c = new_client(Clock(), server=self.server, keys=jwks(), tenant_id=None, instance_id="py-busy", sleep=waits.append)
        with self.assertRaises(lc.LicensorError):
            c.request_capabilities({"solver": 1})
        self.assertEqual(len(waits), 9)  # ten attempts
        self.assertTrue(all(w >= 2.5 for w in waits), waits)


class CapabilityTest(unittest.TestCase):
    def test_checkout_list_return(self):
        c = new_client(Clock(), instance_id="py-cap")
        self.assertTrue(c.preview_capabilities({"solver": 2}))
        lease = c.request_capabilities({"solver": 3})
        self.assertEqual(lease.units, {"solver": 3})
        self.assertEqual(lease.claims["units"], {"solver": 3})
        held = {f["feature"]: f["held_by_instance"] for f in c.list_features()["features"]}
        self.assertEqual(held.get("solver"), 3)
        left = c.return_capabilities(lease, {"solver": 1})
        self.assertEqual(left.units, {"solver": 2})
        self.assertGreater(c.renew_lease(lease).expires_at, 0)
        self.assertIsNone(c.return_capabilities(lease))
        held = {f["feature"]: f["held_by_instance"] for f in c.list_features()["features"]}
        self.assertEqual(held.get("solver"), 0)

    def test_denied_names_shortage(self):
        c = new_client(Clock(), instance_id="py-denied")
        with self.assertRaises(lc.DeniedError) as cm:
            c.request_capabilities({"gpu-export": 1000})
        self.assertEqual(cm.exception.shortages[0]["feature"], "gpu-export")
        self.assertEqual(cm.exception.shortages[0]["short"], 995)


if __name__ == "__main__":
    unittest.main()
