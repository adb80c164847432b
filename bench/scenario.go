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

// target is the registry a scenario run measures.
type target struct {
	srv *Server
	reg *regClient
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
	goalRatioAtLeast                 // Berth/Distribution >= value
	goalBerthBelow                   // Berth's absolute value < value
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
	case goalBerthBelow:
		return fmt.Sprintf("< %g %s", g.value, unit)
	}
	return "-"
}

// met reports whether Berth's value a and Distribution's value b meet the goal; ok is false for
// informational metrics.
func (g goal) met(a, b float64) (met, ok bool) {
	switch g.kind {
	case goalRatioAtLeast:
		return b > 0 && a/b >= g.value, true
	case goalBerthBelow:
		return a < g.value, true
	}
	return false, false
}

func fixed(decimals int) func(float64) string {
	return func(v float64) string { return fmt.Sprintf("%.*f", decimals, v) }
}
