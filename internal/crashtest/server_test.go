package crashtest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // PRAGMA integrity_check on the server's file
)

var crashN = flag.Int("crash.n", 5, "how many times TestCrash kills the server with SIGKILL")

// guard bounds every wait on the child process, so that a server that never
// comes up fails the test instead of hanging it. It is no assertion on
// speed: a healthy start takes a small fraction of it.
const guard = 2 * time.Minute

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// serverBinary builds cmd/licensor once for every test of the package.
func serverBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills the server binary; skipped under -short")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "licensor-crashtest-"); buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "licensor")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/licensor/licensor/cmd/licensor").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// server is one serve process.
type server struct {
	cmd  *exec.Cmd
	addr string // host:port of the API
	done chan struct{}
	err  error // of Wait, once done is closed

	mu   sync.Mutex
	logs []string // stderr lines, for failure messages
}

// environ is this process's environment without the LICENSOR_ variables,
// so that a developer's settings do not reach the child.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LICENSOR_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startServer starts serve --demo on data, with env added to the
// environment, and returns once it has logged that it serves; on failure to
// start it returns the process's error and its log.
func startServer(t *testing.T, bin, data string, env ...string) (*server, error) {
	t.Helper()
	s := &server{done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", data, "--demo", "--log-format", "json")
	s.cmd.Env = environ(env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	serving := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs = append(s.logs, line)
			s.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "licensor serving" {
				serving <- strings.TrimPrefix(rec.Addr, "https://")
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill() })
	select {
	case s.addr = <-serving:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("serve exited (%v) before serving:\n%s", s.err, s.log())
	case <-time.After(guard):
		s.kill()
		return nil, fmt.Errorf("serve did not start within %v:\n%s", guard, s.log())
	}
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// demoFile is what serve --demo writes to <data>/demo.json.
type demoFile struct {
	CACert     string `json:"ca_cert"`
	TenantID   string `json:"tenant_id"`
	ContractID string `json:"contract_id"`
	PoolID     string `json:"pool_id"`
	Token      string `json:"token"`
	AdminToken string `json:"admin_token"`
}

func readDemo(t *testing.T, data string) *demoFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d demoFile
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func httpClient(t *testing.T, d *demoFile) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(d.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", d.CACert)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 32}}
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, hc *http.Client, addr string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for time.Now().Before(deadline) {
		res, err := hc.Get("https://" + addr + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		<-tick.C
	}
	t.Fatalf("/readyz not 200 within %v: last %s", guard, last)
}

// integrityCheck runs PRAGMA integrity_check on the database file, read
// only, as the killed server left it (the check's connection replays the
// WAL as the next server would).
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "ok" {
		t.Fatalf("integrity_check: got %q, want [ok]", got)
	}
}
