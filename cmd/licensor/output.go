package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"
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
	v := d.AsDuration()
	if v >= 24*time.Hour && v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	return v.String()
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

func parseDur(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: use e.g. 14d, 36h or 90m", s)
		}
		return time.Duration(days * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: use e.g. 14d, 36h or 90m", s)
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
