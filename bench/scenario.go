package main

import (
	"context"
	"fmt"
)

// A scenario is one kind of load. Prepare runs once, before any timing, to generate content and
// precompute digests. Run measures one fresh registry and returns a value for each of Metrics'
// keys. Scenarios must do the same work for every registry so results can be compared.
type scenario interface {
	Name() string
	Metrics() []metric
	Prepare(ctx context.Context) error
	Run(ctx context.Context, t *target) (map[string]float64, error)
}

// selfWarming is implemented by scenarios whose Run already includes an uncounted warm-up; the
// runner's unrecorded warm-up pass skips them.
type selfWarming interface {
	warmsItself()
}

// comparer is implemented by scenarios that compare two contenders of their own (say, Berth with
// auth on and off, or two image tools against Berth: see toolKind) instead of the run's Berth
// and Distribution. The runner measures such a
// scenario on its contenders, index 0 being the one judged, and the report gives its rows a table
// of their own, titled by Comparison.
type comparer interface {
	Contenders() [2]contender
	Comparison() string
}

// target is the registry a scenario run measures.
type target struct {
	srv  *Server
	reg  *regClient
	kind Kind // what started srv; a comparer of client tools finds its tool here
}

// metric is one reported quantity of a scenario.
type metric struct {
	key   string
	label string // row label, e.g. "1 GiB blob push"
	unit  string // e.g. "MB/s"
	goal  goal
	// format renders a value for the table; nil prints it with no decimals.
	format func(v float64) string
}

// goalKind says how a metric is judged.
type goalKind int

const (
	goalNone         goalKind = iota // informational
	goalRatioAtLeast                 // first/second >= value (Berth/Distribution in the main table)
	goalRatioWithin                  // first/second >= 1 - value: the first costs at most value
	goalBerthBelow                   // the first's absolute value < value
	goalRatioAtMost                  // first/second <= value (times: the first takes at most value x)
)

// goal is the target a metric is judged against.
type goal struct {
	kind  goalKind
	value float64
}

// String renders the goal for the report, e.g. ">= 2x".
func (g goal) String(unit string) string {
	switch g.kind {
	case goalRatioAtLeast:
		return fmt.Sprintf(">= %gx", g.value)
	case goalRatioWithin:
		return fmt.Sprintf("within %g%% (>= %.2fx)", 100*g.value, 1-g.value)
	case goalBerthBelow:
		return fmt.Sprintf("< %g %s", g.value, unit)
	case goalRatioAtMost:
		return fmt.Sprintf("<= %gx", g.value)
	}
	return "-"
}

// met reports whether the first contender's value a (Berth's) and the second's b
// (Distribution's) meet the goal; ok is false for informational metrics.
func (g goal) met(a, b float64) (met, ok bool) {
	switch g.kind {
	case goalRatioAtLeast:
		return b > 0 && a/b >= g.value, true
	case goalRatioWithin:
		return b > 0 && a/b >= 1-g.value, true
	case goalBerthBelow:
		return a < g.value, true
	case goalRatioAtMost:
		return b > 0 && a/b <= g.value, true
	}
	return false, false
}

func fixed(decimals int) func(float64) string {
	return func(v float64) string { return fmt.Sprintf("%.*f", decimals, v) }
}
