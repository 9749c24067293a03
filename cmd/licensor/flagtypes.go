package main

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensor/licensor"
)

// The CLI reads and prints durations one way: whole days and the rest in
// Go's units, "14d", "1d12h", "2h", "90s". formatDur's output always parses
// back with parseDur to the same value.

// Dur is a duration flag that also accepts days: "14d", "1d12h", "36h", "90m".
type Dur time.Duration

// Decode implements kong.MapperValue.
func (d *Dur) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	v, err := parseDur(s)
	if err != nil {
		return err
	}
	*d = Dur(v)
	return nil
}

// durationMapper makes every time.Duration flag of the tree (serve's
// timeouts, bench's --duration) take the same "14d" form as Dur.
func durationMapper() kong.Option {
	return kong.TypeMapper(reflect.TypeOf(time.Duration(0)), kong.MapperFunc(func(ctx *kong.DecodeContext, target reflect.Value) error {
		var s string
		if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
			return err
		}
		v, err := parseDur(s)
		if err != nil {
			return err
		}
		target.SetInt(int64(v))
		return nil
	}))
}

// parseDur reads "14d", "1.5d", "1d12h", "36h" or "90m". A negative
// duration, or one longer than time.Duration holds (about 106751 days), is
// refused with the allowed range rather than clamped.
func parseDur(s string) (time.Duration, error) {
	const day = 24 * time.Hour
	maxDays := int64(licensor.MaxDuration / day)
	usage := func() error {
		return fmt.Errorf("duration %q: use e.g. 14d, 1d12h, 36h or 90m, between 0 and %dd", s, maxDays)
	}
	if n, rest, ok := strings.Cut(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || math.IsNaN(days) || days < 0 || days > float64(maxDays) {
			return 0, usage()
		}
		d := time.Duration(days * float64(day))
		if rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil || r < 0 || rest[0] == '-' || rest[0] == '+' || d > licensor.MaxDuration-r {
				return 0, usage()
			}
			d += r
		}
		return d, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, usage()
	}
	return v, nil
}

// formatDur prints d as parseDur reads it, without zero units: 14d, 1d12h,
// 2h, 1h30m, 90ms.
func formatDur(d time.Duration) string {
	const day = 24 * time.Hour
	if d < 0 {
		return "-" + formatDur(-d)
	}
	var b strings.Builder
	if d >= day {
		b.WriteString(strconv.FormatInt(int64(d/day), 10) + "d")
		d %= day
		if d == 0 {
			return b.String()
		}
	}
	s := d.String()
	if d >= time.Minute {
		// "2h0m0s" -> "2h", "1h30m0s" -> "1h30m"
		s = strings.TrimSuffix(s, "0s")
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
	}
	b.WriteString(s)
	return b.String()
}

func fmtDur(d *durationpb.Duration) string {
	if d == nil {
		return "-"
	}
	// Whole days are printed from the seconds themselves: AsDuration clamps
	// what does not fit in a time.Duration, and a clamped value must never be
	// shown as if it were the stored one.
	if s := d.GetSeconds(); d.GetNanos() == 0 && s >= 86400 && s%86400 == 0 {
		return strconv.FormatInt(s/86400, 10) + "d"
	}
	if d.GetSeconds() > int64(licensor.MaxDuration/time.Second) {
		return "more than " + formatDur(licensor.MaxDuration.Truncate(24*time.Hour))
	}
	return formatDur(d.AsDuration())
}

func (d Dur) pb() *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(time.Duration(d))
}

// Time is a timestamp flag: RFC 3339, a date (2027-01-31, midnight UTC),
// "now", or a duration relative to now. A bare duration ("7d", "1h") points
// the way the flag's `relative` tag says: "past" (the default: --since 7d
// is a week ago) or "future" (--ends 30d is a month from now); a sign
// ("-7d", "+30d") always wins.
type Time time.Time

// Decode implements kong.MapperValue.
func (t *Time) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("time", &s); err != nil {
		return err
	}
	dir := "past"
	if ctx.Value != nil && ctx.Value.Tag != nil && ctx.Value.Tag.Get("relative") != "" {
		dir = ctx.Value.Tag.Get("relative")
	}
	v, err := parseTime(s, dir == "future", time.Now())
	if err != nil {
		return err
	}
	*t = Time(v)
	return nil
}

// parseTime reads s as Time says, a duration counting from now.
func parseTime(s string, future bool, now time.Time) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	if s == "now" {
		return now.UTC(), nil
	}
	rel, sign := s, 0
	switch {
	case strings.HasPrefix(s, "-"):
		rel, sign = s[1:], -1
	case strings.HasPrefix(s, "+"):
		rel, sign = s[1:], 1
	case strings.HasSuffix(s, " ago"):
		rel, sign = strings.TrimSuffix(s, " ago"), -1
	}
	if d, err := parseDur(rel); err == nil && rel != "" {
		if sign == 0 {
			sign = -1
			if future {
				sign = 1
			}
		}
		return now.Add(time.Duration(sign) * d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q: use RFC 3339 (2027-01-31T00:00:00Z), a date (2027-01-31), now, or a duration from now (7d, 1h; -7d before, +30d after)", s)
}

func (t Time) pb() *timestamppb.Timestamp {
	if time.Time(t).IsZero() {
		return nil
	}
	return timestamppb.New(time.Time(t))
}
