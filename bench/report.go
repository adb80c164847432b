package main

import (
	"bytes"
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
	distVer    string
	shaRate    float64
	rounds     int
	short      bool
	selfCheck  bool
	headDur    time.Duration
	bigSize    int64
	smallCount int
}

func collectEnv(o options, sides [2]contender, shaRate float64, loadStart string) env {
	e := env{
		date: time.Now().UTC(), nproc: runtime.NumCPU(), goVersion: runtime.Version(),
		cpu: cpuModel(), kernel: strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		memory: memTotal(), shaRate: shaRate, rounds: o.rounds, short: o.short, selfCheck: o.selfCheck,
		headDur: o.headDur, bigSize: o.bigSize, smallCount: o.smallCount,
		loadStart: loadStart, loadEnd: loadAvg(),
	}
	for i, s := range sides {
		built := ""
		if fi, err := os.Stat(s.binary); err == nil {
			built = ", built " + fi.ModTime().UTC().Format("2006-01-02 15:04 MST")
		}
		e.binaries[i] = fmt.Sprintf("`%s` (%s%s)", s.binary, binaryVersion(s.binary), built)
	}
	e.distVer = moduleVersion(sides[1].binary, "github.com/distribution/distribution/v3")
	return e
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

// markdown renders BENCHMARKS.md: how the numbers were made, the table of medians, every round.
func markdown(e env, r *results) string {
	var b bytes.Buffer
	a, d := r.tables[0].names[0], r.tables[0].names[1]
	b.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `go run ./bench` (`make bench`) on %s. Rerun it rather than editing this file.\n", e.date.Format("2006-01-02 15:04 MST"))
	if e.short || e.selfCheck {
		fmt.Fprintf(&b, "\n**This is a smoke run (short=%v, selfcheck=%v); its numbers are not the comparison.**\n", e.short, e.selfCheck)
	}
	fmt.Fprintf(&b, `
## Method

Two registries run side by side on one machine: %s and %s.
Each scenario runs against one registry and then the other, alternating which goes first each
round, for %d rounds; the tables show the median of the rounds. Every measurement gets a fresh
server process bound to 127.0.0.1 and a fresh, empty filesystem store; all stores live in one temp
directory on the same disk, and dirty pages are flushed (sync) before each measurement. Both
servers log at level warn. Distribution runs with the registry:2 image's settings (in-memory blob
descriptor cache), deletes enabled, access log and upload purging off, and its OpenTelemetry
tracing as shipped (on, 100%% sampled) with the OTLP exporter set to none.

The load generator is this Go program on the same machine, with one HTTP/1.1 keep-alive client;
it shares the CPUs with the server under test, so CPU-bound ratios are understated rather than
overstated. Other work on the machine (see the load averages below) moves numbers from round to
round; read the per-round values at the end before trusting a ratio. Content comes from a seeded 1 MiB random block repeated with a per-block stamp, so
blocks differ and generating costs a memcpy; digests are computed before timing. MB/s is 10^6
bytes per second.

- **Large blob**: POST, one PATCH streaming the whole %s body without Content-Range (chunked, as
  docker does), PUT ?digest=; timed from POST to the 201. Pull is one GET read to the end, length
  checked.
- **Peak RSS**: VmHWM of the server process read from /proc right after the large push, on a
  process started just before it (so it is the peak from start-up through the push).
- **Small blobs**: %d blobs of 1 MiB, each POST then PUT ?digest= with the body (as containerd
  does), 8 at a time; then each pulled with GET, 8 at a time, length checked.
- **Manifest HEAD**: a small image (config, 32 KiB layer, OCI manifest tagged v1) is pushed, then
  32 goroutines send HEAD /v2/bench/head/manifests/v1 for %s after an uncounted warm-up; each
  answer must be 200 with the manifest's digest.
- **Manifest HEAD, auth on** (a table of its own): the same storm against Berth with token auth
  on and against Berth with auth off, so the ratio is what auth costs per request. With auth on,
  Berth issues its own tokens at /token for one htpasswd account that its ACL allows everything;
  the client logs in as docker does (GET /v2/, then the 401's Bearer realm with Basic
  credentials), once with scope pull,push to push the image and once with scope pull for the
  storm, and sends that one token with every HEAD. Distribution is not in this comparison: its
  token auth needs an external token server, which this bench does not run.
- **sha256**: crypto/sha256 over a 256 MiB buffer in one goroutine, best of three: the ceiling
  for a push that hashes every byte once on one core. The table shows each large push as a
  percentage of it.

## Machine

- CPUs: %d x %s; memory %s; kernel %s
- Go (bench): %s
- %s: %s
- %s: %s
- Distribution version: %s
- single-core sha256: %s MB/s
- load average (1, 5, 15 min): %s at start, %s at end

`, a, d, e.rounds, sizeLabel(e.bigSize), e.smallCount, e.headDur, e.nproc, e.cpu, e.memory, e.kernel,
		e.goVersion, a, e.binaries[0], d, e.binaries[1], e.distVer, mb(e.shaRate), e.loadStart, e.loadEnd)

	fmt.Fprintf(&b, "## Results (median of %d rounds)\n", e.rounds)
	for _, t := range r.nonEmpty() {
		if t.title != "" {
			fmt.Fprintf(&b, "\n### %s\n", t.title)
		}
		fmt.Fprintf(&b, "\n| Scenario | Unit | %s | %s | %s/%s | Target | Met |\n|---|---|--:|--:|--:|---|---|\n",
			t.names[0], t.names[1], t.names[0], t.names[1])
		for _, rw := range r.rows(t) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", rw.m.label, rw.m.unit,
				formatValue(rw.m, rw.a), formatValue(rw.m, rw.b), rw.ratio, rw.target, rw.met)
		}
	}
	b.WriteString("\n## Every round\n")
	for _, t := range r.nonEmpty() {
		if t.title != "" {
			fmt.Fprintf(&b, "\n### %s\n", t.title)
		}
		fmt.Fprintf(&b, "\n| Scenario | Unit | %s | %s |\n|---|---|---|---|\n", t.names[0], t.names[1])
		for _, rw := range r.rows(t) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rw.m.label, rw.m.unit, joinValues(rw.m, rw.aRun), joinValues(rw.m, rw.bRun))
		}
	}
	return b.String()
}

func joinValues(m metric, vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = formatValue(m, v)
	}
	return strings.Join(s, ", ")
}
