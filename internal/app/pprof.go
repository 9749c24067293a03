package app

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// servePprof serves net/http/pprof on a separate plain-HTTP listener, which
// must be a loopback address: profiles reveal internals and cost CPU, so
// they are never on the API port nor reachable from another host.
func (a *App) servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("pprof address %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("pprof address %s: give a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof: listen on %s: %w", addr, err)
	}
	a.pprofLn = ln
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.pprofHS = &http.Server{Handler: mux, ReadHeaderTimeout: DefaultReadHeaderTimeout}
	go func() { _ = a.pprofHS.Serve(ln) }()
	a.log.Info("pprof serving", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return nil
}
