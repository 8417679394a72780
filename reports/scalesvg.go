package reports

import (
	"encoding/xml"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/etcdrill/etcdrill/record"
)

// Scaling chart geometry in SVG user units; the legend sits right of the
// plot.
const (
	scaleW      = 800.0
	scaleH      = 400.0
	scaleLeft   = 64.0
	scaleRight  = 560.0 // right edge of the plot; the legend follows
	scaleTop    = 40.0
	scaleBottom = 330.0
	scaleLabelW = 52.0 // least room between two size labels under the axis
)

// ScaleSVG renders rows as a self-contained SVG chart (no scripts, no
// fonts or anything else to load): x is the database size, y seconds;
// one line with a dot per row for each RTO phase (its slowest member),
// the total RTO and the bare `etcdutl snapshot restore` of the same file,
// with a legend and axis titles. Rows are drawn in order of database
// size; a row without one cannot be placed and is left out. Each dot's
// tooltip has its value; under the axis each row's size is labelled, a
// failed drill's in red. Without rows to draw it says there is no data.
func ScaleSVG(rows []Scale) string {
	var drawn []Scale
	for _, r := range rows {
		if r.DBSize > 0 {
			drawn = append(drawn, r)
		}
	}
	sort.SliceStable(drawn, func(i, j int) bool { return drawn[i].DBSize < drawn[j].DBSize })
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" height="%s" font-family="sans-serif" font-size="12">`+"\n",
		f(scaleW), f(scaleH), f(scaleW), f(scaleH))
	b.WriteString("<title>Recovery time by database size</title>\n")
	fmt.Fprintf(&b, `<rect width="%s" height="%s" fill="#ffffff"/>`+"\n", f(scaleW), f(scaleH))
	fmt.Fprintf(&b, `<text x="%s" y="22" font-size="15" font-weight="700" fill="#1f2937">Recovery time by database size</text>`+"\n", f(scaleLeft))
	series := newScaleSeries(drawn)
	if len(series) == 0 {
		msg := noScaleData
		if len(rows) > 0 {
			msg = "No scaling data to draw: no row has both a database size and a time."
		}
		fmt.Fprintf(&b, `<text class="empty" x="%s" y="%s" text-anchor="middle" fill="#6b7280">%s</text>`+"\n",
			f(scaleW/2), f(scaleH/2), esc(msg))
		b.WriteString("</svg>\n")
		return b.String()
	}

	var maxX, maxY float64
	for _, r := range drawn {
		maxX = math.Max(maxX, float64(r.DBSize))
		for _, s := range series {
			if d, ok := s.Value(r); ok {
				maxY = math.Max(maxY, d.Seconds())
			}
		}
	}
	xTop, xTicks := axis(maxX, 0)
	yTop, yTicks := axis(maxY, 0)
	x := func(v float64) float64 { return scaleLeft + v/xTop*(scaleRight-scaleLeft) }
	y := func(v float64) float64 { return scaleBottom - v/yTop*(scaleBottom-scaleTop) }

	for _, v := range yTicks {
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#e5e7eb"/><text x="%s" y="%s" dy="4" text-anchor="end" font-size="11" fill="#6b7280">%s s</text>`+"\n",
			f(scaleLeft), f(scaleRight), f(y(v)), f(y(v)), f(scaleLeft-6), f(y(v)), number(v))
	}
	for _, v := range xTicks {
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#9ca3af"/><text x="%s" y="%s" text-anchor="middle" font-size="11" fill="#6b7280">%s</text>`+"\n",
			f(x(v)), f(x(v)), f(scaleBottom), f(scaleBottom+4), f(x(v)), f(scaleBottom+16), humanBytes(int64(v)))
	}
	fmt.Fprintf(&b, `<path d="M%s %s V%s H%s" fill="none" stroke="#9ca3af"/>`+"\n", f(scaleLeft), f(scaleTop), f(scaleBottom), f(scaleRight))
	writeSizeLabels(&b, drawn, x)

	for i, s := range series {
		writeSeries(&b, i, s, drawn, x, y)
	}
	writeScaleLegend(&b, series)

	fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" font-weight="600" fill="#1f2937">database size before the fault</text>`+"\n",
		f((scaleLeft+scaleRight)/2), f(scaleH-12))
	fmt.Fprintf(&b, `<text x="16" y="%s" text-anchor="middle" font-weight="600" fill="#1f2937" transform="rotate(-90 16 %s)">seconds</text>`+"\n",
		f((scaleTop+scaleBottom)/2), f((scaleTop+scaleBottom)/2))
	b.WriteString("</svg>\n")
	return b.String()
}

// writeSizeLabels labels each row's size under the axis ticks, a failed
// drill's in red with "fail"; a label too close to the one before it is
// left out (the dots' tooltips still have it).
func writeSizeLabels(b *strings.Builder, rows []Scale, x func(float64) float64) {
	last := math.Inf(-1)
	for _, r := range rows {
		px := x(float64(r.DBSize))
		if px-last < scaleLabelW {
			continue
		}
		last = px
		label, colour := orDash(r.Size), "#1f2937"
		if r.Verdict == record.Fail {
			label, colour = label+" fail", "#b91c1c"
		}
		fmt.Fprintf(b, `<text class="size" x="%s" y="%s" text-anchor="middle" font-size="11" font-weight="600" fill="%s">%s</text>`+"\n",
			f(px), f(scaleBottom+31), colour, esc(label))
	}
}

// writeSeries draws one series as a path through its rows' values, broken
// where a row has none, with a dot and tooltip per value.
func writeSeries(b *strings.Builder, i int, s scaleSeries, rows []Scale, x, y func(float64) float64) {
	var d strings.Builder
	pen := false
	var dots []string
	for _, r := range rows {
		v, ok := s.Value(r)
		if !ok {
			pen = false
			continue
		}
		px, py := f(x(float64(r.DBSize))), f(y(v.Seconds()))
		if pen {
			fmt.Fprintf(&d, " L%s %s", px, py)
		} else {
			fmt.Fprintf(&d, " M%s %s", px, py)
		}
		pen = true
		dots = append(dots, fmt.Sprintf(`<circle cx="%s" cy="%s" r="3.5" fill="%s"><title>%s</title></circle>`, px, py, s.Colour, esc(scaleTitle(s, r, v))))
	}
	dash := ""
	if s.Dash != "" {
		dash = ` stroke-dasharray="` + s.Dash + `"`
	}
	fmt.Fprintf(b, `<g class="series" id="series-%d"><title>%s</title><path class="series" d="%s" fill="none" stroke="%s" stroke-width="2.2" stroke-linejoin="round"%s/>%s</g>`+"\n",
		i, esc(s.Name), strings.TrimSpace(d.String()), s.Colour, dash, strings.Join(dots, ""))
}

// writeScaleLegend lists the series right of the plot, a line swatch each.
func writeScaleLegend(b *strings.Builder, series []scaleSeries) {
	for i, s := range series {
		ly := scaleTop + 6 + float64(i)*20
		dash := ""
		if s.Dash != "" {
			dash = ` stroke-dasharray="` + s.Dash + `"`
		}
		fmt.Fprintf(b, `<g class="legend"><line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2.2"%s/><text x="%s" y="%s" dy="4" fill="#1f2937">%s</text></g>`+"\n",
			f(scaleRight+20), f(scaleRight+44), f(ly), f(ly), s.Colour, dash, f(scaleRight+50), f(ly), esc(s.Name))
	}
}

// esc escapes s for SVG text and attributes.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writing to a strings.Builder cannot fail
	return b.String()
}
