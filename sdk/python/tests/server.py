"""Starts a real `licensor serve --demo` on 127.0.0.1:0 with a temporary
data directory, for the tests. The binary is $LICENSOR_BIN, or built once
from the repository with go build."""

import json
import os
import shutil
import subprocess
import tempfile
import threading

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def licensor_binary(tmp):
    path = os.environ.get("LICENSOR_BIN")
    if path:
        return path
    path = os.path.join(tmp, "licensor")
    subprocess.run(["go", "build", "-o", path, "./cmd/licensor"], cwd=REPO, check=True)
    return path


class Server:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="licensor-py-")
        self.data = os.path.join(self.tmp, "data")
        self.binary = binary = licensor_binary(self.tmp)
        self.proc = subprocess.Popen(
            [binary, "serve", "--demo", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--data", self.data],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        self.output = []

        def read():
            for line in self.proc.stdout:
                self.output.append(line)
                if "licensor serving" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        # A bound on start-up, not a timed assertion: a server that does not
        # come up fails the suite instead of hanging it.
        if not ready.wait(60) or self.proc.poll() is not None:
            self.close()
            raise RuntimeError("licensor serve did not start:\n" + "".join(self.output))
        with open(os.path.join(self.data, "demo.json")) as f:
            self.demo = json.load(f)
        self.cert = os.path.join(self.data, "tls-cert.pem")
        self.key = os.path.join(self.data, "tls-key.pem")

    def issue_static(self, instance, validity):
        """An armored static license file for instance, from `licensor license issue`."""
        return subprocess.run(
            [self.binary, "license", "issue", "--demo-file", os.path.join(self.data, "demo.json"),
             "--contract", self.demo["contract_id"], "--instance", instance, "--validity", validity],
            check=True, capture_output=True, text=True).stdout

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
