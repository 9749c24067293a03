package console

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Point is one value of a series at a time.
type Point struct {
	T time.Time
	V float64
}

// Series is a named line (or the bars) of a chart.
type Series struct {
	Name   string
	Points []Point // in time order
}

// Chart is a time chart drawn as SVG on the server: no script, no
// inline style (colours come from the stylesheet by class), axes with
// units, times in UTC.
type Chart struct {
	Title  string
	Unit   string // the y axis' unit, e.g. "units in use"
	Series []Series
	// Bars draws the first series as bars (one per point), e.g. licenses
	// per hour; otherwise every series is a line.
	Bars bool
	// From and To bound the x axis; zero: the points' own range.
	From, To time.Time
}

const (
	chartW, chartH           = 720, 260
	padL, padR, padT, padB   = 56, 16, 44, 44
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	maxSeriesClasses         = 8
	chartTicksY, chartTicksX = 4, 6
)

// SVG renders the chart. Text is escaped; the markup is safe to embed.
func (c Chart) SVG() template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH, esc(c.Title))
	fmt.Fprintf(&b, `<text class="chart-title" x="%d" y="16">%s</text>`, padL, esc(c.Title))
	from, to, maxV, n := c.bounds()
	if n == 0 {
		fmt.Fprintf(&b, `<text class="chart-empty" x="%d" y="%d">no data in this period</text></svg>`, chartW/2-70, chartH/2)
		return template.HTML(b.String())
	}
	top := niceCeil(maxV)
	x := func(t time.Time) float64 {
		if !to.After(from) {
			return padL + plotW/2
		}
		return padL + float64(plotW)*float64(t.Sub(from))/float64(to.Sub(from))
	}
	y := func(v float64) float64 { return padT + float64(plotH)*(1-v/top) }
	// Axes, grid and labels.
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, padL, padT, padL, padT+plotH)
	for i := 0; i <= chartTicksY; i++ {
		v := top * float64(i) / chartTicksY
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, padL, y(v), padL+plotW, y(v))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, formatValue(v))
	}
	layout := tickLayout(to.Sub(from))
	for i := 0; i <= chartTicksX; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / chartTicksX))
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(t), padT+plotH+16, t.UTC().Format(layout))
	}
	fmt.Fprintf(&b, `<text class="axis-label" x="%d" y="%d" text-anchor="middle">time (UTC)</text>`, padL+plotW/2, chartH-6)
	fmt.Fprintf(&b, `<text class="axis-label" x="12" y="%d" text-anchor="middle" transform="rotate(-90 12 %d)">%s</text>`, padT+plotH/2, padT+plotH/2, esc(c.Unit))
	if c.Bars && len(c.Series) > 0 {
		pts := c.Series[0].Points
		bw := math.Max(1, float64(plotW)/float64(max(len(pts), 1))*0.8)
		for _, p := range pts {
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
				math.Min(math.Max(x(p.T)-bw/2, padL), padL+plotW-bw), y(p.V), bw, y(0)-y(p.V), p.T.UTC().Format("2006-01-02 15:04 UTC"), formatValue(p.V))
		}
	} else {
		for i, s := range c.Series {
			if len(s.Points) == 0 {
				continue
			}
			pts := make([]string, len(s.Points))
			for j, p := range s.Points {
				pts[j] = fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V))
			}
			fmt.Fprintf(&b, `<polyline class="line s%d" points="%s"><title>%s</title></polyline>`, i%maxSeriesClasses, strings.Join(pts, " "), esc(s.Name))
		}
	}
	// Legend, when there is more than one series.
	if len(c.Series) > 1 && !c.Bars {
		lx := padL
		for i, s := range c.Series {
			fmt.Fprintf(&b, `<rect class="key s%d" x="%d" y="23" width="10" height="10"/><text class="legend" x="%d" y="32">%s</text>`,
				i%maxSeriesClasses, lx, lx+14, esc(s.Name))
			lx += 24 + 7*len([]rune(s.Name))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bounds returns the time range, the largest value and the number of
// points.
func (c Chart) bounds() (from, to time.Time, maxV float64, n int) {
	from, to = c.From, c.To
	for _, s := range c.Series {
		for _, p := range s.Points {
			n++
			maxV = math.Max(maxV, p.V)
			if c.From.IsZero() && (from.IsZero() || p.T.Before(from)) {
				from = p.T
			}
			if c.To.IsZero() && p.T.After(to) {
				to = p.T
			}
		}
	}
	return from, to, maxV, n
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1), so
// the axis ticks are round numbers.
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatValue(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// tickLayout picks how x ticks are written for a time span.
func tickLayout(span time.Duration) string {
	switch {
	case span <= 36*time.Hour:
		return "15:04"
	case span <= 10*24*time.Hour:
		return "01-02 15h"
	}
	return "2006-01-02"
}
