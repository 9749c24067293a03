package main

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/licensor/licensor"
)

// FuzzParseDur: the CLI's duration flag never panics and never returns a
// negative or wrapped-around duration; what it accepts in whole days
// prints back (fmtDur) as the same days, and everything it accepts prints
// (formatDur) as a string it reads back to the same duration.
func FuzzParseDur(f *testing.F) {
	for _, s := range []string{"14d", "1.5d", "36h", "90m", "106751d", "106752d", "1e400d", "NaNd", "-1d", "Infd", "0x10d", "9223372036854775807ns", "3000000h", "d", "", "1d12h", "2d-1h", "1d+1h", "1dd", "1.5d30m", "106751d24h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDur(s)
		if err != nil {
			if !strings.Contains(err.Error(), "106751d") {
				t.Fatalf("parseDur(%q): %v, want the allowed range in days", s, err)
			}
			return
		}
		if d < 0 {
			t.Fatalf("parseDur(%q) = %v: negative", s, d)
		}
		if back, err := parseDur(formatDur(d)); err != nil || back != d {
			t.Fatalf("parseDur(%q) = %v prints %q, which parses to %v, %v", s, d, formatDur(d), back, err)
		}
		if d%(24*time.Hour) == 0 && d > 0 {
			out := fmtDur(durationpb.New(d))
			back, err := parseDur(out)
			if err != nil || back != d {
				t.Fatalf("parseDur(%q) = %v prints %q, which parses to %v, %v", s, d, out, back, err)
			}
		}
	})
}

// TestFmtDurNeverClamped: a duration beyond time.Duration is printed from
// its seconds, never as the clamped 2562047h47m16s.
func TestFmtDurNeverClamped(t *testing.T) {
	for _, c := range []struct {
		d    *durationpb.Duration
		want string
	}{
		{&durationpb.Duration{Seconds: 200_000 * 86400}, "200000d"},
		{&durationpb.Duration{Seconds: 200_000*86400 + 1}, "more than " + licensor.FormatDuration(licensor.MaxDuration.Truncate(24*time.Hour))},
		{durationpb.New(36 * time.Hour), "1d12h"},
		{durationpb.New(90 * time.Minute), "1h30m"},
		{durationpb.New(2 * time.Hour), "2h"},
		{durationpb.New(14 * 24 * time.Hour), "14d"},
	} {
		if got := fmtDur(c.d); got != c.want {
			t.Errorf("fmtDur(%v): got %q, want %q", c.d, got, c.want)
		}
	}
	if _, err := parseDur("200000d"); err == nil || !strings.Contains(err.Error(), "106751d") {
		t.Errorf("parseDur(200000d): got %v, want an error giving the range in days", err)
	}
}
