// Command webapp is a web application checked by Licensor in lazy mode: the
// first request triggers the check, then it runs every 6 hours in the
// background; a request never waits once a license is held, and never more
// than the 5-second timeout before.
//
//	go run ./cmd/licensor serve --demo            # in one terminal
//	go run ./examples/webapp                       # then open http://127.0.0.1:8080
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/licensor/licensor/client"
)

type demo struct {
	Server     string `json:"server"`
	CACert     string `json:"ca_cert"`
	TenantID   string `json:"tenant_id"`
	ContractID string `json:"contract_id"`
	Token      string `json:"token"`
}

func main() {
	demoFile := flag.String("demo", "licensor-data/demo.json", "demo.json written by licensor serve --demo")
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	origin := flag.String("origin", "http://127.0.0.1:8080", "the application's URL: its instance id (a production URL takes a seat)")
	env := flag.String("env", "production", "production, staging, development or test")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*demoFile, *listen, *origin, *env, log); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

func run(demoFile, listen, origin, env string, log *slog.Logger) error {
	b, err := os.ReadFile(demoFile)
	if err != nil {
		return fmt.Errorf("%w (start the server with: go run ./cmd/licensor serve --demo)", err)
	}
	var d demo
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("%s: %w", demoFile, err)
	}
	var requests atomic.Int64
	host, port, _ := net.SplitHostPort(listen)
	p, _ := strconv.Atoi(port)
	c, err := client.New(client.Config{
		Server: d.Server, ContractID: d.ContractID, Token: d.Token, TenantID: d.TenantID, CAFile: d.CACert,
		InstanceID: origin,
		CacheDir:   "webapp-cache",
		Timeout:    5 * time.Second,
		Telemetry: func() client.Telemetry {
			return client.Telemetry{
				ProductVersion: "2.3.1", RuntimeVersions: map[string]string{"go": runtime.Version()},
				Environment: env, ServerHost: host, ServerPort: uint32(p), AppName: "webapp",
				Usage: map[string]int64{"requests": requests.Load()},
			}
		},
		Logger: log,
	})
	if err != nil {
		return err
	}
	defer c.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		st, _ := client.StatusFromContext(r.Context())
		if !st.Licensed() {
			// The application decides: here, a banner instead of the page.
			w.WriteHeader(http.StatusPaymentRequired)
			fmt.Fprintf(w, "This installation is not licensed: %s\n", st.Reason)
			return
		}
		fmt.Fprintf(w, "Hello! Licensed (%s, %s left). Reporting: %v, solver seats: %d\n",
			st.State, st.Remaining.Round(time.Minute), c.Allowed("reporting"), c.Count("solver"))
	})
	log.Info("serving", "url", "http://"+listen)
	srv := &http.Server{Addr: listen, Handler: c.Middleware(mux), ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
