package main

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// results holds every measured value: per metric, per side (0 = the first contender of the
// metric's table: Berth, A, or Berth with auth on; 1 = the second), one value per round. The
// metrics are grouped into the report's tables.
type results struct {
	tables []*table
	values map[string]*[2][]float64
}

// table is one comparison in the report: two contenders and the metrics measured on both.
type table struct {
	title   string // "" for the run's own comparison (Berth vs Distribution)
	names   [2]string
	metrics []metric
}

// newResults makes room for the metrics of scenarios: those of comparers in a table per
// Comparison, the rest in the run's own table, whose contenders are names.
func newResults(names [2]string, scenarios []scenario) *results {
	r := &results{tables: []*table{{names: names}}, values: map[string]*[2][]float64{}}
	for _, sc := range scenarios {
		t := r.tables[0]
		if c, ok := sc.(comparer); ok {
			t = r.table(c.Comparison(), c.Contenders())
		}
		for _, m := range sc.Metrics() {
			t.metrics = append(t.metrics, m)
			r.values[m.key] = &[2][]float64{}
		}
	}
	return r
}

// table returns the table titled title, adding it for sides if there is none yet.
func (r *results) table(title string, sides [2]contender) *table {
	for _, t := range r.tables {
		if t.title == title {
			return t
		}
	}
	t := &table{title: title, names: [2]string{sides[0].kind.Name(), sides[1].kind.Name()}}
	r.tables = append(r.tables, t)
	return t
}

// nonEmpty returns the tables that have metrics, the run's own first.
func (r *results) nonEmpty() []*table {
	var out []*table
	for _, t := range r.tables {
		if len(t.metrics) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// add records one run's values; side is the index of the contender in the scenario's table.
func (r *results) add(side int, vals map[string]float64) {
	for k, v := range vals {
		if p, ok := r.values[k]; ok {
			p[side] = append(p[side], v)
		}
	}
}

// describe renders one run's values for the progress line.
func (r *results) describe(sc scenario, vals map[string]float64) string {
	var parts []string
	for _, m := range sc.Metrics() {
		parts = append(parts, fmt.Sprintf("%s %s %s", m.key, formatValue(m, vals[m.key]), m.unit))
	}
	return strings.Join(parts, ", ")
}

// row is one metric's medians and verdict.
type row struct {
	m          metric
	a, b       float64
	ratio      string
	target     string
	met        string
	aRun, bRun []float64
}

// rows returns the medians and verdicts of t's metrics.
func (r *results) rows(t *table) []row {
	var out []row
	for _, m := range t.metrics {
		v := r.values[m.key]
		rw := row{m: m, a: median(v[0]), b: median(v[1]), aRun: v[0], bRun: v[1], ratio: "-", met: "-"}
		if rw.b > 0 {
			rw.ratio = fmt.Sprintf("%.2fx", rw.a/rw.b)
		}
		rw.target = m.goal.String(m.unit)
		if met, ok := m.goal.met(rw.a, rw.b); ok {
			rw.met = map[bool]string{true: "yes", false: "no"}[met]
		}
		out = append(out, rw)
	}
	return out
}

func formatValue(m metric, v float64) string {
	if m.format != nil {
		return m.format(v)
	}
	return fmt.Sprintf("%.0f", v)
}

// median of vs; NaN-free input assumed, 0 for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// env describes the run for the report header.
type env struct {
	date       time.Time
	nproc      int
	cpu        string
	kernel     string
	memory     string
	loadStart  string // /proc/loadavg before and after the run
	loadEnd    string
	goVersion  string
	binaries   [2]string // "path (version)"
	tools      []string  // "name: path (version)" of the comparers' other contenders
	distVer    string
	shaRate    float64
	rounds     int
	short      bool
	selfCheck  bool
	headDur    time.Duration
	bigSize    int64
	smallCount int
	imageSize  int64
	imageCount int
	notes      []string // what scenarios say of their setup (noter)
}

// noter is implemented by scenarios with something to say in the report about their setup, such
// as how long seeding took.
type noter interface {
	Note() string
}

// collectEnv describes the run: the machine, the settings of o, the run's contenders (sides) and
// those of the comparers among scenarios whose binaries are not the sides'.
func collectEnv(o options, sides [2]contender, scenarios []scenario, shaRate float64, loadStart string) env {
	e := env{
		date: time.Now().UTC(), nproc: runtime.NumCPU(), goVersion: runtime.Version(),
		cpu: cpuModel(), kernel: strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		memory: memTotal(), shaRate: shaRate, rounds: o.rounds, short: o.short, selfCheck: o.selfCheck,
		headDur: o.headDur, bigSize: o.bigSize, smallCount: o.smallCount,
		imageSize: o.imageSize, imageCount: o.imageCount,
		loadStart: loadStart, loadEnd: loadAvg(),
	}
	seen := map[string]bool{}
	for i, s := range sides {
		e.binaries[i] = describeBinary(s.binary)
		seen[s.binary] = true
	}
	for _, sc := range scenarios {
		if n, ok := sc.(noter); ok {
			e.notes = append(e.notes, n.Note())
		}
		if c, ok := sc.(comparer); ok {
			for _, s := range c.Contenders() {
				if !seen[s.binary] {
					seen[s.binary] = true
					e.tools = append(e.tools, s.kind.Name()+": "+describeBinary(s.binary))
				}
			}
		}
	}
	e.distVer = moduleVersion(sides[1].binary, "github.com/distribution/distribution/v3")
	return e
}

// describeBinary renders a binary for the report: "`path` (version, built date)".
func describeBinary(path string) string {
	built := ""
	if fi, err := os.Stat(path); err == nil {
		built = ", built " + fi.ModTime().UTC().Format("2006-01-02 15:04 MST")
	}
	return fmt.Sprintf("`%s` (%s%s)", path, binaryVersion(path), built)
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// loadAvg returns the 1, 5 and 15 minute load averages: other work on the machine skews results.
func loadAvg() string {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	for line := range strings.SplitSeq(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	for line := range strings.SplitSeq(readFile("/proc/meminfo"), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

// binaryVersion summarizes a Go binary's build info: main module version or VCS revision, and the
// Go version it was built with.
func binaryVersion(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "no Go build info"
	}
	v := bi.Main.Path + " " + bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	if dv := moduleVersion(path, "github.com/distribution/distribution/v3"); dv != "" && bi.Main.Path != "github.com/distribution/distribution/v3" {
		v += ", distribution/v3 " + dv
	}
	return v + ", " + bi.GoVersion
}

// moduleVersion returns the version of module mod in a Go binary (main module or dependency), or
// "".
func moduleVersion(path, mod string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	if bi.Main.Path == mod {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			return d.Version
		}
	}
	return ""
}

// printTable writes the medians as aligned text tables, one per comparison.
func printTable(w io.Writer, e env, r *results) {
	fmt.Fprintf(w, "\nmedian of %d rounds; %d CPUs, %s; single-core sha256 %s MB/s; load %s -> %s\n",
		e.rounds, e.nproc, e.cpu, mb(e.shaRate), e.loadStart, e.loadEnd)
	for _, t := range r.nonEmpty() {
		if t.title != "" {
			fmt.Fprintf(w, "\n%s:", t.title)
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "scenario\tunit\t%s\t%s\tratio\ttarget\tmet\n", t.names[0], t.names[1])
		for _, rw := range r.rows(t) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rw.m.label, rw.m.unit,
				formatValue(rw.m, rw.a), formatValue(rw.m, rw.b), rw.ratio, rw.target, rw.met)
		}
		tw.Flush()
	}
}
