// Command bench compares Berth's registry with the CNCF Distribution registry on this machine, in
// one run, and writes the ratios to BENCHMARKS.md. Some scenarios compare other pairs, each in a
// table of its own: Berth with token auth on vs off, and Berth's ctl vs crane pulling and pushing
// an image through Berth. It is a measuring tool, not a test: it never fails on a missed target
// and does not run in CI.
//
// Usage (from the repository root; `make bench` runs the first line):
//
//	go run ./bench                    # full run, rewrites BENCHMARKS.md
//	go run ./bench -short             # smoke run with small sizes; prints only (so does -run)
//	go run ./bench -selfcheck -short  # Distribution against itself: ratios should be near 1.0
//	go run ./bench -run ctl-pull,ctl-push -rounds 3   # ctl vs crane only
//	go run ./bench -run rt-pull,rt-start -rounds 3    # ctl runtime vs docker (root, dockerd)
//	go run ./bench -run s3 -out BENCHMARKS.md          # both registries on S3 only; rewrites only
//	                                                  # BENCHMARKS.md's S3 section
//
// It needs bin/registry (`go build -o bin/registry ./cmd/registry`), the Distribution registry
// crane and versitygw (the S3 scenarios' server) in .tools/bin (`make tools`), and bin/ctl (`go build -o bin/ctl ./cmd/ctl`; `make
// build` builds both of ours).
//
// Each scenario runs against a fresh server process on a fresh store for each registry in turn,
// alternating which registry goes first each round; the report shows the median of the rounds.
// Servers bind 127.0.0.1 only, live in their own process group and are killed on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/berthhq/berth/internal/s3test"
)

// options are the command-line settings of one run.
type options struct {
	short        bool
	warmUp       bool
	selfCheck    bool
	out          string
	write        bool // whether to write out (see parseFlags)
	rounds       int
	berth        string
	distribution string
	ctl          string
	crane        string
	dir          string
	only         []string

	bigSize    int64
	smallCount int
	smallSize  int
	smallConc  int
	headConc   int
	headDur    time.Duration
	shaSize    int
	imageSize  int64 // total layer bytes of the ctl scenarios' image
	imageCount int   // its layers
	rtSize     int64 // total layer bytes of the runtime pull image
	rtStarts   int   // container starts per runtime start measurement
	s3Repos    int   // repositories of the S3 catalog scenario
	s3Seed     string
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.BoolVar(&o.short, "short", false, "smoke run: small sizes and durations; prints only unless -out is given")
	fs.BoolVar(&o.selfCheck, "selfcheck", false, "compare Distribution against itself to validate the harness; prints only unless -out is given")
	fs.BoolVar(&o.warmUp, "warmup", true, "run each blob scenario once per registry, unrecorded, before the rounds")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "markdown report to rewrite")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per scenario and registry; the report shows the median")
	fs.StringVar(&o.berth, "berth", "bin/registry", "Berth registry binary")
	fs.StringVar(&o.distribution, "distribution", ".tools/bin/distribution-registry", "CNCF Distribution registry binary")
	fs.StringVar(&o.ctl, "ctl", "bin/ctl", "Berth's ctl binary, for the ctl scenarios")
	fs.StringVar(&o.crane, "crane", ".tools/bin/crane", "crane binary, for the ctl scenarios")
	fs.StringVar(&o.dir, "dir", "", "parent of the temporary stores (default $TMPDIR or /tmp); both registries use it")
	run := fs.String("run", "", "comma-separated scenarios to run (big-blob, small-blobs, manifest-head, manifest-head-auth, ctl-pull, ctl-push, rt-pull, rt-start, s3-big-blob, s3-small-blobs, s3-manifest-head, s3-catalog; s3 names all s3- ones); default all; the rt- scenarios need root and dockerd. A partial run prints only unless -out is given; one of only s3- scenarios then rewrites only the S3 section")
	fs.IntVar(&o.s3Repos, "s3-repos", 0, "repositories of s3-catalog (default 10000, 300 with -short)")
	fs.StringVar(&o.s3Seed, "s3-seed", "berth", "registry whose API seeds s3-catalog's bucket: berth or distribution")
	dur := fs.Duration("duration", 0, "duration of the manifest HEAD storms (default 20s, 2s with -short)")
	fs.Usage = func() {
		fmt.Fprintf(errOut, "Usage: go run ./bench [flags]\n\nCompares bin/registry with the Distribution registry and rewrites BENCHMARKS.md.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.rounds < 1 {
		return o, errors.New("-rounds must be at least 1")
	}
	outSet := false
	fs.Visit(func(f *flag.Flag) { outSet = outSet || f.Name == "out" })
	o.write = outSet || (!o.short && !o.selfCheck && *run == "")
	if *run != "" {
		o.only = strings.Split(*run, ",")
	}

	o.bigSize, o.smallCount, o.smallSize, o.smallConc = 1<<30, 100, 1<<20, 8
	o.headConc, o.headDur, o.shaSize = 32, 20*time.Second, 256<<20
	o.imageSize, o.imageCount = 512<<20, 5
	o.rtSize, o.rtStarts = 512<<20, 10
	if o.short {
		o.rtSize, o.rtStarts = 4<<20, 3
		o.bigSize, o.smallCount, o.headDur, o.shaSize = 64<<20, 32, 2*time.Second, 64<<20
		o.imageSize = 40 << 20
	}
	if *dur > 0 {
		o.headDur = *dur
	}
	if o.s3Repos == 0 {
		o.s3Repos = map[bool]int{false: 10000, true: 300}[o.short]
	}
	if o.s3Seed != "berth" && o.s3Seed != "distribution" {
		return o, fmt.Errorf("-s3-seed %q: want berth or distribution", o.s3Seed)
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// contender is one side of the comparison.
type contender struct {
	kind   Kind
	binary string
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	dist, err := findBinary(o.distribution, "run `make tools` to install the Distribution registry")
	if err != nil {
		return err
	}
	var sides [2]contender
	var berth string
	if o.selfCheck {
		sides[0] = contender{NewDistributionKind("distribution-a", dist), dist}
		sides[1] = contender{NewDistributionKind("distribution-b", dist), dist}
	} else {
		berth, err = findBinary(o.berth, "build it with `go build -o bin/registry ./cmd/registry`")
		if err != nil {
			return err
		}
		sides[0] = contender{NewBerthKind("berth", berth), berth}
		sides[1] = contender{NewDistributionKind("distribution", dist), dist}
	}

	scratch, err := os.MkdirTemp(o.dir, "berth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)

	loadStart := loadAvg()
	pat := newPattern(42)
	fmt.Fprintf(stderr, "hashing %s with crypto/sha256 on one core...\n", sizeLabel(int64(o.shaSize)))
	shaRate := sha256Rate(pat, o.shaSize)
	fmt.Fprintf(stderr, "sha256: %s MB/s\n", mb(shaRate))

	scenarios, err := selectScenarios(o, pat, shaRate, sides, scratch, stderr)
	if err != nil {
		return err
	}
	for _, sc := range scenarios {
		if c, ok := sc.(io.Closer); ok {
			defer c.Close() // idempotent; stops what Prepare started (the runtime scenarios' dockerd)
		}
	}
	for _, sc := range scenarios {
		if err := sc.Prepare(ctx); err != nil {
			return fmt.Errorf("prepare %s: %w", sc.Name(), err)
		}
	}

	if o.warmUp {
		// One unrecorded run per registry: warms binaries, the page cache and, on VMs, guest memory
		// the host has not backed yet, which otherwise makes whichever registry runs first slower.
		for _, sc := range scenarios {
			if _, ok := sc.(selfWarming); ok {
				continue
			}
			for _, side := range contendersFor(sc, sides) {
				if _, err := measure(ctx, side.kind, sc, storageFor(sc), scratch, newClient()); err != nil {
					return fmt.Errorf("warm-up, %s on %s: %w", sc.Name(), side.kind.Name(), err)
				}
				fmt.Fprintf(stderr, "warm-up   %-18s %s\n", sc.Name(), side.kind.Name())
			}
		}
	}

	res := newResults([2]string{sides[0].kind.Name(), sides[1].kind.Name()}, scenarios)
	client := newClient()
	for round := range o.rounds {
		for _, sc := range scenarios {
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			pair := contendersFor(sc, sides)
			for _, i := range order {
				k := pair[i].kind
				vals, err := measure(ctx, k, sc, storageFor(sc), scratch, client)
				if err != nil {
					return fmt.Errorf("round %d, %s on %s: %w", round+1, sc.Name(), k.Name(), err)
				}
				res.add(i, vals)
				fmt.Fprintf(stderr, "round %d/%d %-18s %-14s %s\n", round+1, o.rounds, sc.Name(), k.Name(), res.describe(sc, vals))
			}
		}
	}

	env := collectEnv(o, sides, scenarios, shaRate, loadStart)
	printTable(stdout, env, res)
	if o.write {
		doc, err := report(o.out, env, res)
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.out, doc, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", o.out)
	}
	return nil
}

// selectScenarios builds the scenarios for o, keeping only those named by -run if given. sides
// are the run's contenders, Berth's binary first; a self-check, which has none, leaves out the
// scenarios that need it: Berth against itself, ctl against crane, and those on S3. scratch is
// the run's temporary directory. A full run without versitygw leaves out the S3 scenarios and
// says so on errOut.
func selectScenarios(o options, pat *pattern, shaRate float64, sides [2]contender, scratch string, errOut io.Writer) ([]scenario, error) {
	berth := sides[0].binary
	big := &bigBlob{pat: pat, size: o.bigSize, shaRate: shaRate}
	small := &smallBlobs{pat: pat, count: o.smallCount, size: o.smallSize, conc: o.smallConc}
	head := &headStorm{pat: pat, conc: o.headConc, dur: o.headDur}
	all := []scenario{big, small, head}
	if !o.selfCheck {
		img := newTestImage(pat, o.imageSize, o.imageCount)
		tools := newCtlBench(img, berth, o.ctl, o.crane, filepath.Join(scratch, "ctl"))
		all = append(all, newAuthHeadStorm(pat, o.headConc, o.headDur, berth), &ctlPull{tools}, &ctlPush{ctlBench: tools})
		// The runtime scenarios unpack, run containers and start a dockerd: root only, so a full
		// run as another user leaves them out (naming them with -run fails in their Prepare).
		rt := newRtBench(pat, berth, o.ctl, filepath.Join(scratch, "runtime"), o.rtSize, o.imageCount, o.rtStarts)
		if os.Geteuid() == 0 || len(o.only) > 0 {
			all = append(all, &rtPull{rt}, &rtStart{rtBench: rt})
		}
		if _, err := s3test.Binary(); err == nil || len(o.only) > 0 {
			env := newS3Env(scratch)
			seeder := sides[0].kind
			if o.s3Seed == "distribution" {
				seeder = sides[1].kind
			}
			all = append(all, newS3Scenario(big, env, sides), newS3Scenario(small, env, sides),
				newS3Scenario(head, env, sides), newS3Catalog(env, sides, seeder, o.s3Repos, 32, scratch))
		} else {
			fmt.Fprintf(errOut, "leaving out the S3 scenarios: %v\n", err)
		}
	}
	if len(o.only) == 0 {
		return all, nil
	}
	var out []scenario
	for _, name := range expandS3(o.only, all) {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(all, func(s scenario) bool { return s.Name() == name })
		if i < 0 && name == (&authHeadStorm{}).Name() {
			return nil, fmt.Errorf("-run: %s compares Berth with itself; it does not run with -selfcheck", name)
		}
		if i < 0 && (name == (&ctlPull{}).Name() || name == (&ctlPush{}).Name() || name == (&rtPull{}).Name() || name == (&rtStart{}).Name() || strings.HasPrefix(name, s3Prefix) || name == "s3") {
			return nil, fmt.Errorf("-run: %s runs against Berth; it does not run with -selfcheck", name)
		}
		if i < 0 {
			return nil, fmt.Errorf("-run: unknown scenario %q", name)
		}
		out = append(out, all[i])
	}
	return out, nil
}

// contendersFor returns the pair sc is measured on: its own if it is a comparer, else the run's.
func contendersFor(sc scenario, sides [2]contender) [2]contender {
	if c, ok := sc.(comparer); ok {
		return c.Contenders()
	}
	return sides
}

// measure runs sc once against a fresh registry of kind k on fresh storage and tears both down.
func measure(ctx context.Context, k Kind, sc scenario, newStorage StorageFactory, scratch string, c *http.Client) (map[string]float64, error) {
	// Flush the previous run's dirty pages so its writeback does not land in this measurement.
	syscall.Sync()
	st, cleanup, err := newStorage(ctx, scratch)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	srv, err := k.Start(ctx, st, scratch)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	defer c.CloseIdleConnections()
	reg, err := newRegClient(c, srv.URL)
	if err != nil {
		return nil, err
	}
	vals, err := sc.Run(ctx, &target{srv: srv, reg: reg, kind: k})
	if err != nil && ctx.Err() == nil {
		logs := srv.Logs()
		if len(logs) > 4096 {
			logs = "..." + logs[len(logs)-4096:]
		}
		return nil, fmt.Errorf("%w\n--- server log tail ---\n%s", err, logs)
	}
	if err != nil {
		return nil, err
	}
	for _, m := range sc.Metrics() {
		if _, ok := vals[m.key]; !ok {
			return nil, fmt.Errorf("scenario %s returned no %s", sc.Name(), m.key)
		}
	}
	return vals, nil
}

// findBinary returns path if it is an executable file, else an error that says how to get it.
func findBinary(path, hint string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s not found: %s", path, hint)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file: %s", path, hint)
	}
	return path, nil
}
