package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText writes a human-readable report.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := r.Mode
	switch r.Mode {
	case "open":
		mode = fmt.Sprintf("open loop at %.0f/s (at most %d in flight)", r.Rate, r.Concurrency)
	case "closed":
		mode = fmt.Sprintf("closed loop, %d workers", r.Concurrency)
	}
	warm := ""
	if r.Warmup > 0 {
		warm = " after a " + fmtDur(r.Warmup) + " warm-up"
	}
	fmt.Fprintf(&b, "scenario    %s, %s, %s%s\n", r.Scenario, mode, fmtDur(r.Elapsed), warm)
	fmt.Fprintf(&b, "requests    %d (%d ok, %d errors, %d refused by the threshold)\n", r.Requests, r.Successes, r.Errors, r.Refusals)
	fmt.Fprintf(&b, "throughput  %.0f/s\n", r.Throughput)
	writeLatency(&b, "latency", r.Latency)
	if len(r.ErrorsByCode) > 0 {
		codes := make([]string, 0, len(r.ErrorsByCode))
		for c := range r.ErrorsByCode {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		b.WriteString("errors     ")
		for _, c := range codes {
			fmt.Fprintf(&b, " %s=%d", c, r.ErrorsByCode[c])
		}
		b.WriteString("\n")
	}
	if s := r.Surge; s != nil {
		fmt.Fprintf(&b, "surge       %d instances: %d licensed, %d failed after retries, %d attempts", s.Instances, s.Licensed, s.Failed, s.Attempts)
		if s.AllLicensedAfter > 0 {
			fmt.Fprintf(&b, ", all licensed after %s", fmtDur(s.AllLicensedAfter))
		}
		b.WriteString("\n")
		writeLatency(&b, "flow", s.FlowLatency)
	}
	if a := r.Attack; a != nil && a.Baseline != nil {
		bl := a.Baseline
		fmt.Fprintf(&b, "attack      %d slow-body + %d idle connections from %d addresses: %d dials, %d refused at accept, %d closed by the server, at most %d held at once\n",
			a.Slow, a.Idle, a.Addrs, a.Dials, a.Refused, a.Closed, a.HeldPeak)
		fmt.Fprintf(&b, "baseline    %d requests (%d ok, %d errors) without the attack\n", bl.Requests, bl.Successes, bl.Errors)
		writeLatency(&b, "baseline", bl.Latency)
		if s := bl.Server; s != nil {
			fmt.Fprintf(&b, "baseline    server pid %d: %.1f CPU s (%.2f cores), RSS %.1f MiB\n", s.PID, s.CPUSeconds, s.CPUCores, float64(s.RSSBytes)/(1<<20))
		}
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "server      pid %d: %.1f CPU s (%.2f cores), peak RSS %.1f MiB, RSS now %.1f MiB\n",
			s.PID, s.CPUSeconds, s.CPUCores, float64(s.PeakRSSBytes)/(1<<20), float64(s.RSSBytes)/(1<<20))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLatency(b *strings.Builder, name string, l Latency) {
	fmt.Fprintf(b, "%-11s p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  (mean %.2f ms)\n",
		name, l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
}
