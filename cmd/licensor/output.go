package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/licensor/licensor"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var stdout io.Writer = os.Stdout

// emit prints a response: protojson with -o json, else the table.
func emit(g *Globals, msg proto.Message, header []string, rows [][]string) error {
	if g.Output == "json" {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}.Marshal(msg)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

func fmtTS(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
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
		return "more than " + licensor.FormatDuration(licensor.MaxDuration.Truncate(24*time.Hour))
	}
	return d.AsDuration().String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Dur is a duration flag that also accepts days: "14d", "36h", "90m".
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

// parseDur reads "14d", "1.5d", "36h" or "90m". A negative duration, or
// one longer than time.Duration holds (about 106751 days), is refused with
// the allowed range rather than clamped.
func parseDur(s string) (time.Duration, error) {
	const day = 24 * time.Hour
	maxDays := int64(licensor.MaxDuration / day)
	usage := func() error {
		return fmt.Errorf("duration %q: use e.g. 14d, 36h or 90m, between 0 and %dd", s, maxDays)
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || math.IsNaN(days) || days < 0 || days > float64(maxDays) {
			return 0, usage()
		}
		return time.Duration(days * float64(day)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, usage()
	}
	return v, nil
}

func (d Dur) pb() *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(time.Duration(d))
}

// Time is a timestamp flag: RFC 3339 or a date (2027-01-31, midnight UTC).
type Time time.Time

// Decode implements kong.MapperValue.
func (t *Time) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("time", &s); err != nil {
		return err
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = Time(v.UTC())
			return nil
		}
	}
	return fmt.Errorf("time %q: use RFC 3339 (2027-01-31T00:00:00Z) or a date (2027-01-31)", s)
}

func (t Time) pb() *timestamppb.Timestamp {
	if time.Time(t).IsZero() {
		return nil
	}
	return timestamppb.New(time.Time(t))
}
