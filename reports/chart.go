package reports

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/record"
)

// Chart geometry in SVG user units. The SVG scales to the page width; these
// fix its proportions, and the tests compute marker positions from them.
const (
	chartW      = 960.0
	chartLeft   = 64.0 // room for the writes/s axis
	chartRight  = 64.0 // room for the p99 latency axis
	chartPlotH  = 220.0
	chartLabelH = 16.0 // one row of event labels above the plot
	chartBottom = 44.0 // tick labels and the axis title
	labelCharW  = 6.4  // rough width of one label character at 11px
	maxLabelRow = 4    // further labels overlap; the event table has them all
	maxLabelLen = 44
	laneH       = 18.0 // one RTO phase below the time axis
	laneBarH    = 12.0
)

// chart is the timeline of a drill, laid out for the SVG template: the
// acknowledged writes and the failed or indeterminate ones per second as
// stacked bars, p99 latency as a line on its own axis, and the events as
// vertical markers. All coordinates are preformatted strings so the
// template does no arithmetic.
type chart struct {
	W, H, Left, Right, Top, Bottom string
	PlotH, TickY                   string
	TitleY, XTitleX, XTitleY       string
	YTitle, LTitle                 axisTitle
	Origin                         string // drill start, for the x-axis title
	XTicks, YTicks, LTicks         []tick
	Bars                           []bar
	P99                            string // SVG path, broken where no write was acknowledged
	Dots                           []point
	Markers                        []marker
	RTO                            *band
	// Phases are the RTO phases as spans on the time axis, one lane
	// each below the axis title, in record order, under a heading at
	// PhasesY.
	Phases  []phaseBar
	PhasesY string
}

// phaseBar is one RTO phase drawn as a span on its own lane, labelled
// with its name, member and duration.
type phaseBar struct {
	Class, Label, Title string
	X, Y, W, H          string
	LabelX, LabelY      string
	Anchor              string
}

type axisTitle struct{ X, Y string }

type tick struct{ Pos, Label string }

type bar struct {
	X, W, AckY, AckH, BadY, BadH string
	Title                        string
}

type point struct{ X, Y string }

type band struct{ X, W, LabelX, Label string }

// f formats a coordinate: one decimal is finer than a pixel.
func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// newChart lays out r.Timeline and r.Events, or returns nil when the drill
// has no timeline. Times are seconds since r.Start (or the first sample
// when the record has no start).
func newChart(r *record.Record) *chart {
	if len(r.Timeline) == 0 {
		return nil
	}
	origin := r.Start
	if origin.IsZero() {
		origin = r.Timeline[0].T
	}
	off := func(t time.Time) float64 { return t.Sub(origin).Seconds() }
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range r.Timeline {
		lo, hi = math.Min(lo, off(s.T)), math.Max(hi, off(s.T)+1)
	}
	for _, e := range r.Events {
		lo, hi = math.Min(lo, off(e.T)), math.Max(hi, off(e.T))
	}
	for _, p := range r.Metrics.Phases {
		if !p.Start.IsZero() && !p.End.IsZero() {
			lo, hi = math.Min(lo, off(p.Start)), math.Max(hi, off(p.End))
		}
	}
	lo, hi = math.Floor(lo), math.Max(math.Ceil(hi), math.Floor(lo)+1)

	plotW := chartW - chartLeft - chartRight
	x := func(sec float64) float64 { return chartLeft + (sec-lo)/(hi-lo)*plotW }
	markers, rows := layoutMarkers(r.Events, func(t time.Time) float64 { return x(off(t)) }, off)
	top := 8 + float64(rows)*chartLabelH + 6
	bottom := top + chartPlotH
	c := &chart{
		W: f(chartW), H: f(bottom + chartBottom),
		Left: f(chartLeft), Right: f(chartW - chartRight), Top: f(top), Bottom: f(bottom),
		PlotH: f(chartPlotH), TickY: f(bottom + 5),
		XTitleX: f(chartLeft + plotW/2), XTitleY: f(bottom + 36),
		YTitle: axisTitle{f(16), f(top + chartPlotH/2)},
		LTitle: axisTitle{f(chartW - 14), f(top + chartPlotH/2)},
		Origin: origin.UTC().Format("15:04:05 UTC"),
	}
	for i := range markers {
		markers[i].LabelY = f(8 + float64(markers[i].row)*chartLabelH + 11)
		markers[i].Y1 = f(8 + float64(markers[i].row)*chartLabelH + 14)
	}
	c.Markers = markers

	xStep := niceSeconds(hi - lo)
	for s := math.Ceil(lo/xStep) * xStep; s <= hi+1e-9; s += xStep {
		c.XTicks = append(c.XTicks, tick{f(x(s)), strconv.FormatFloat(s, 'f', -1, 64) + " s"})
	}

	var maxW, maxL float64
	for _, s := range r.Timeline {
		maxW = math.Max(maxW, float64(s.Acknowledged+s.Failed+s.Indeterminate))
		maxL = math.Max(maxL, s.P99Millis)
	}
	wTop, wTicks := axis(maxW, 1)
	lTop, lTicks := axis(maxL, 0)
	yW := func(v float64) float64 { return bottom - v/wTop*chartPlotH }
	yL := func(v float64) float64 { return bottom - v/lTop*chartPlotH }
	for _, v := range wTicks {
		c.YTicks = append(c.YTicks, tick{f(yW(v)), number(v)})
	}
	for _, v := range lTicks {
		c.LTicks = append(c.LTicks, tick{f(yL(v)), number(v)})
	}

	var path strings.Builder
	pen := false
	for _, s := range r.Timeline {
		x0, x1 := x(off(s.T)), x(off(s.T)+1)
		bad := s.Failed + s.Indeterminate
		c.Bars = append(c.Bars, bar{
			X: f(x0 + 1), W: f(math.Max(x1-x0-2, 1)),
			AckY: f(yW(float64(s.Acknowledged))), AckH: f(bottom - yW(float64(s.Acknowledged))),
			BadY: f(yW(float64(s.Acknowledged + bad))), BadH: f(yW(float64(s.Acknowledged)) - yW(float64(s.Acknowledged+bad))),
			Title: fmt.Sprintf("%s–%s s: %d acknowledged, %d failed, %d indeterminate",
				number(off(s.T)), number(off(s.T)+1), s.Acknowledged, s.Failed, s.Indeterminate),
		})
		if s.Acknowledged > 0 {
			c.Bars[len(c.Bars)-1].Title += fmt.Sprintf(", p50 %s ms, p99 %s ms", number(s.P50Millis), number(s.P99Millis))
		}
		if s.Acknowledged == 0 {
			pen = false
			continue
		}
		p := point{f((x0 + x1) / 2), f(yL(s.P99Millis))}
		c.Dots = append(c.Dots, p)
		if pen {
			fmt.Fprintf(&path, " L%s %s", p.X, p.Y)
		} else {
			fmt.Fprintf(&path, " M%s %s", p.X, p.Y)
		}
		pen = true
	}
	c.P99 = strings.TrimSpace(path.String())
	c.RTO = rtoBand(r, x, off)
	c.layoutPhases(r.Metrics.Phases, bottom+chartBottom, func(t time.Time) float64 { return x(off(t)) })
	return c
}

// layoutPhases puts a heading at y top and under it each RTO phase with
// both times on a lane of its own, and makes the chart that much taller. A label goes right
// of its span, or left of it when it would run off the right edge.
func (c *chart) layoutPhases(phases []record.RTOPhase, top float64, x func(time.Time) float64) {
	lane := 0
	for _, p := range phases {
		if p.Start.IsZero() || p.End.IsZero() {
			continue
		}
		x0, x1 := x(p.Start), x(p.End)
		y := top + 18 + float64(lane)*laneH
		label := phaseName(p.Name, p.Member) + " · " + seconds(p.Duration())
		b := phaseBar{Class: phaseClass(p.Name), Label: label,
			Title: phaseName(p.Name, p.Member) + ": " + seconds(p.Duration()),
			X:     f(x0), Y: f(y), W: f(math.Max(x1-x0, 2)), H: f(laneBarH),
			LabelX: f(math.Max(x1, x0+2) + 4), LabelY: f(y + laneBarH - 2), Anchor: "start"}
		if p.Bytes > 0 {
			b.Title += fmt.Sprintf(", %s, %s", humanBytes(p.Bytes), mbps(p.MBps()))
		}
		if math.Max(x1, x0+2)+4+float64(len([]rune(label)))*labelCharW > chartW-2 {
			b.LabelX, b.Anchor = f(x0-4), "end"
		}
		c.Phases = append(c.Phases, b)
		lane++
	}
	if lane > 0 {
		c.PhasesY = f(top + 10)
		c.H = f(top + 18 + float64(lane)*laneH + 6)
	}
}

// rtoBand shades the RTO from the fault on, when the record is a drill
// that measured one. The harness starts the RTO clock once the fault is
// complete, which for a fault of several steps (losing two members of
// three) is the last one.
func rtoBand(r *record.Record, x func(float64) float64, off func(time.Time) float64) *band {
	d, ok := rto(r)
	if !r.IsDrill() || !ok || d <= 0 {
		return nil
	}
	var fault time.Time
	for _, e := range r.Events {
		if e.Kind == "fault" && e.T.After(fault) {
			fault = e.T
		}
	}
	if fault.IsZero() {
		return nil
	}
	s := off(fault)
	x0, x1 := x(s), x(s+d.Seconds())
	return &band{X: f(x0), W: f(x1 - x0), LabelX: f((x0 + x1) / 2), Label: "RTO " + seconds(d)}
}

// niceSeconds is the x tick step for a span: at most 12 ticks.
func niceSeconds(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600} {
		if span/s <= 12 {
			return s
		}
	}
	return 7200
}

// axis returns the top of a y axis from 0 that holds v, and its ticks: a
// round step of 1, 2, 2.5 or 5 times a power of ten, no finer than least.
func axis(v, least float64) (top float64, ticks []float64) {
	if v <= 0 {
		v = 1
	}
	raw := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	step = math.Max(step, least)
	top = math.Ceil(v/step) * step
	for t := 0.0; t <= top+step/2; t += step {
		ticks = append(ticks, t)
	}
	return top, ticks
}

// number formats v with up to two decimals and no trailing zeros.
func number(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}
