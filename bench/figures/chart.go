package main

import (
	"errors"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// pagePoint is the proxy's CPU per request for one page, in µs: the
// process CPU of a request through the proxy less that of the same page
// fetched directly in the same run. warm is NaN when not measured.
type pagePoint struct {
	page              string
	htmlBytes         float64
	plain, cold, warm float64
}

// pageCPU reads the PageCPU results, the median of each page and mode.
func pageCPU(rs []result) ([]pagePoint, error) {
	groups, vals := medians(rs, "PageCPU", "page", "mode")
	by := map[string]map[string]map[string]float64{}
	var order []string
	for i, g := range groups {
		page, mode := g[0], g[1]
		if by[page] == nil {
			by[page] = map[string]map[string]float64{}
			order = append(order, page)
		}
		by[page][mode] = vals[i]
	}
	var pts []pagePoint
	for _, page := range order {
		m := by[page]
		d, ok := m["direct"]
		if !ok || m["plain"] == nil || m["cold"] == nil {
			return nil, fmt.Errorf("page %s: want mode=direct, plain and cold results", page)
		}
		cpu := func(mode string) float64 {
			r, ok := m[mode]
			if !ok {
				return math.NaN()
			}
			return (r["cpu-ns/op"] - d["cpu-ns/op"]) / 1e3
		}
		pts = append(pts, pagePoint{page: page, htmlBytes: d["html-bytes"], plain: cpu("plain"), cold: cpu("cold"), warm: cpu("warm")})
	}
	if len(pts) == 0 {
		return nil, errors.New("no BenchmarkPageCPU results")
	}
	slices.SortStableFunc(pts, func(a, b pagePoint) int { return int(a.htmlBytes - b.htmlBytes) })
	return pts, nil
}

// series is one kind of request in the chart.
type series struct {
	label, color string
	value        func(pagePoint) float64
	marker       func(b *strings.Builder, x, y float64, color string)
}

var chartSeries = []series{
	{"plain (no signal, pass-through)", "#1f77b4", func(p pagePoint) float64 { return p.plain }, circle},
	{"opted-out cold (decode, rewrite, re-encode)", "#d62728", func(p pagePoint) float64 { return p.cold }, square},
	{"opted-out warm (response cache hit)", "#2ca02c", func(p pagePoint) float64 { return p.warm }, triangle},
}

func circle(b *strings.Builder, x, y float64, c string) {
	fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s" fill-opacity="0.75"/>`+"\n", x, y, c)
}

func square(b *strings.Builder, x, y float64, c string) {
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="7" height="7" fill="%s" fill-opacity="0.75"/>`+"\n", x-3.5, y-3.5, c)
}

func triangle(b *strings.Builder, x, y float64, c string) {
	fmt.Fprintf(b, `<path d="M%.1f %.1fl4 7h-8z" fill="%s" fill-opacity="0.75"/>`+"\n", x, y-4, c)
}

// Plot geometry, in SVG user units.
const (
	chartW, chartH           = 960.0, 600.0
	left, right, top, bottom = 80.0, 24.0, 70.0, 130.0
	minCPU                   = 1.0 // µs: the log axis starts here; smaller values are drawn on it
	plotW, plotH             = chartW - left - right, chartH - top - bottom
	warmGap                  = "opted-out warm: not measured (this build has no response cache: a warm request would cost what a cold one does)"
	chartNoteLine            = 16.0
)

// logAxis maps [lo, hi] onto [0, 1] logarithmically.
type logAxis struct{ lo, hi float64 }

func (a logAxis) at(v float64) float64 {
	v = math.Max(v, a.lo)
	return (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
}

// svgChart draws CPU per request (log) by page size (log), one point per
// page and series. A series with no value leaves a labelled gap.
func svgChart(pts []pagePoint, title string, notes []string) string {
	maxSize, maxCPU := 0.0, minCPU*10
	minSize := math.Inf(1)
	for _, p := range pts {
		minSize, maxSize = math.Min(minSize, p.htmlBytes), math.Max(maxSize, p.htmlBytes)
		for _, s := range chartSeries {
			if v := s.value(p); !math.IsNaN(v) {
				maxCPU = math.Max(maxCPU, v)
			}
		}
	}
	xa := logAxis{step125(minSize, false), step125(maxSize, true)}
	ya := logAxis{minCPU, math.Pow(10, math.Ceil(math.Log10(maxCPU*1.5)))}
	for lo := ya.lo * 10; lo < ya.hi && lo <= minPositive(pts)/1.5; lo *= 10 {
		ya.lo = lo // from the decade below the smallest value
	}
	x := func(v float64) float64 { return left + xa.at(v)*plotW }
	y := func(v float64) float64 { return top + plotH - ya.at(v)*plotH }

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%.0f" y="28" font-size="16" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	p(`<text x="%.0f" y="48" fill="#444">proxy CPU per request (user + system, less the same page fetched directly), by decoded page size; both axes logarithmic</text>`+"\n", left)

	// Grid and ticks: 1, 2, 5 × 10^k on x; 10^k on y.
	p(`<g stroke="#ddd">` + "\n")
	var xticks []float64
	for d := math.Pow(10, math.Floor(math.Log10(xa.lo))); d < xa.hi*1.01; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v >= xa.lo*0.99 && v <= xa.hi*1.01 {
				xticks = append(xticks, v)
				p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", x(v), top, x(v), top+plotH)
			}
		}
	}
	var yticks []float64
	for v := ya.lo; v < ya.hi*1.01; v *= 10 {
		yticks = append(yticks, v)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`+"\n", left, y(v), left+plotW, y(v))
	}
	p("</g>\n")
	p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	for _, v := range xticks {
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x(v), top+plotH+16, sizeLabel(v))
	}
	p(`<text x="%.1f" y="%.1f" text-anchor="middle">decoded page size</text>`+"\n", left+plotW/2, top+plotH+34)
	for _, v := range yticks {
		p(`<text x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", left-6, y(v), cpuLabel(v))
	}
	p(`<text transform="translate(20 %.1f) rotate(-90)" text-anchor="middle">CPU per request</text>`+"\n", top+plotH/2)

	// Points, and the legend with a labelled gap for a missing series.
	ly := top + plotH + 54
	for i, s := range chartSeries {
		n := 0
		for _, pt := range pts {
			if v := s.value(pt); !math.IsNaN(v) {
				s.marker(&b, x(pt.htmlBytes), y(v), s.color)
				n++
			}
		}
		lx, ly := left+8, ly+float64(i)*18
		if n == 0 {
			p(`<rect x="%.1f" y="%.1f" width="10" height="10" fill="none" stroke="%s" stroke-dasharray="2 2"/>`+"\n", lx-5, ly-5, s.color)
			p(`<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="#777">%s: no data</text>`+"\n", lx+10, ly, html.EscapeString(s.label))
			if s.label == chartSeries[2].label {
				p(`<text x="%.1f" y="%.1f" fill="#777" font-style="italic">%s</text>`+"\n", left+8, top+16, html.EscapeString(warmGap))
			}
			continue
		}
		s.marker(&b, lx, ly, s.color)
		p(`<text x="%.1f" y="%.1f" dominant-baseline="middle">%s (median %s)</text>`+"\n", lx+10, ly, html.EscapeString(s.label), cpuLabel(medianOf(pts, s.value)))
	}
	for i, n := range notes {
		p(`<text x="%.1f" y="%.1f" fill="#444" font-size="11">%s</text>`+"\n", left, ly+3*18+10+float64(i)*chartNoteLine, html.EscapeString(n))
	}
	p("</svg>\n")
	return b.String()
}

// step125 is the 1-2-5 step at or below v (up: at or above).
func step125(v float64, up bool) float64 {
	d := math.Pow(10, math.Floor(math.Log10(v)))
	steps := []float64{1, 2, 5, 10}
	if up {
		for _, m := range steps {
			if d*m >= v {
				return d * m
			}
		}
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if d*steps[i] <= v {
			return d * steps[i]
		}
	}
	return d
}

// minPositive is the smallest value above zero of any series.
func minPositive(pts []pagePoint) float64 {
	m := math.Inf(1)
	for _, p := range pts {
		for _, s := range chartSeries {
			if v := s.value(p); v > 0 {
				m = math.Min(m, v)
			}
		}
	}
	return m
}

func medianOf(pts []pagePoint, f func(pagePoint) float64) float64 {
	var v []float64
	for _, p := range pts {
		if x := f(p); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	return median(v)
}

func sizeLabel(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%g MB", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%g KB", v/1e3)
	}
	return fmt.Sprintf("%g B", v)
}

func cpuLabel(us float64) string {
	switch {
	case us >= 1000:
		return fmt.Sprintf("%.3g ms", us/1000)
	case us >= 10:
		return fmt.Sprintf("%.0f µs", us)
	}
	return fmt.Sprintf("%.2g µs", us)
}
