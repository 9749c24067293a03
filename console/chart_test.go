package console

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestChartSVG(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	c := Chart{Title: "Use <of> pool", Unit: "units in use", From: t0, To: t0.Add(4 * time.Hour), Series: []Series{
		{Name: "solver", Points: []Point{{t0, 0}, {t0.Add(2 * time.Hour), 7}, {t0.Add(4 * time.Hour), 3}}},
		{Name: "gpu & co", Points: []Point{{t0, 1}}},
	}}
	svg := string(c.SVG())
	// Well-formed XML: the browser draws it, and the names are escaped.
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	for _, want := range []string{
		"time (UTC)", "units in use", "Use &lt;of&gt; pool", "gpu &amp; co",
		`text-anchor="end">10</text>`, // 7 rounds the axis up to 10
		">09:00<", ">13:00<",          // x ticks in UTC
		`points="56.0,216.0 380.0,95.6 704.0,164.4"`, // x: 56 + 648*t/4h; y: 44 + 172*(1-v/10)
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "style=") {
		t.Error("SVG has an inline style, which the CSP refuses")
	}
}

func TestChartBars(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	c := Chart{Title: "Licenses per hour", Unit: "licenses", Bars: true, Series: []Series{{Name: "licenses",
		Points: []Point{{t0, 4}, {t0.Add(time.Hour), 0}, {t0.Add(2 * time.Hour), 2}}}}}
	svg := string(c.SVG())
	if n := strings.Count(svg, `<rect class="bar"`); n != 3 {
		t.Fatalf("got %d bars, want 3", n)
	}
	if !strings.Contains(svg, "2026-01-05 02:00 UTC: 2") {
		t.Errorf("bar titles lack the time in UTC:\n%s", svg)
	}
}

func TestChartEmpty(t *testing.T) {
	svg := string(Chart{Title: "Nothing", Unit: "units"}.SVG())
	if !strings.Contains(svg, "no data in this period") {
		t.Fatalf("empty chart: %s", svg)
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{{0, 1}, {0.5, 1}, {1, 1}, {3, 5}, {7, 10}, {10, 10}, {11, 20}, {120, 200}, {501, 1000}} {
		if got := niceCeil(tc.in); got != tc.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
