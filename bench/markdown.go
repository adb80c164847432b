package main

import (
	"bytes"
	"fmt"
	"strings"
)

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
- **ctl vs crane** (a table of its own): Berth's workstation tool (bin/ctl) against
  go-containerregistry's crane, each run as a process of its own against a fresh Berth registry
  on a fresh filesystem store, as above. The image, generated once per run, is %s in %d
  uncompressed tar layers (application/vnd.oci.image.layer.v1.tar: neither tool compresses or
  decompresses layers on pull or push, so gzip would only cost generation time) of generated
  content, a config and an OCI manifest. **Pull**: the registry is seeded (untimed, then synced),
  then `+"`ctl --root DIR pull --quiet REF`"+` or `+"`crane pull REF DIR --format=oci`"+` runs into a
  directory that does not exist yet; --format=oci writes each blob straight into an OCI layout,
  where crane's default tarball format would copy the layers into one tar, one after another.
  Timed from the tool's start to its exit, and to the end of a sync after it: ctl fsyncs each
  blob before naming it and crane leaves that to the kernel, so "until on disk" compares like
  with like and is the row judged. **Push**: each tool pushes from its own copy on disk, made
  before the rounds by a pull of its own (ctl's store, crane's OCI layout), to a fresh, empty
  registry under the repository name it was pulled from, so nothing is skipped and ctl never
  tries a cross-repository mount: `+"`ctl push --quiet REF`"+` (after an untimed `+"`ctl tag`"+`) against
  `+"`crane push DIR REF`"+`, timed from start to exit, after which the registry must name the
  image's manifest. Both move 4 blobs at a time, their defaults; ctl uploads blobs over 64 MiB in
  16 MiB chunks, crane each blob in one PATCH.
- **ctl runtime vs docker** (a table of its own; root only): bin/ctl against docker, whose
  daemon the bench starts privately (scripts/dockerd.sh, data root in the run's temp directory).
  **Pull + unpack**: an image of gzip-compressed tar layers (generated content mapped onto 16
  letters, so gzip about halves it and inflating is real work; compressed at gzip.BestSpeed to
  keep generation short), seeded into a fresh Berth registry (untimed, then synced); then
  `+"`ctl --root FRESH pull -q REF`"+` (which unpacks, as root) or `+"`docker pull -q REF`"+` on an
  image store emptied with `+"`docker rmi -f`"+` and `+"`docker image prune -af`"+`, timed from start to
  exit. Podman is measured by neither side of this table. **Container start**: a one-layer image
  holding runtime/container's probe (static, CGO_ENABLED=0), pulled beforehand by both; then
  `+"`ctl run --rm --network none IMAGE /probe 0`"+` against `+"`docker run --rm --network none IMAGE /probe 0`"+`,
  one uncounted start and then the median of the rest (10 in a full run). Lower is better; the
  target is ctl at most half docker's time.
- **sha256**: crypto/sha256 over a 256 MiB buffer in one goroutine, best of three: the ceiling
  for a push that hashes every byte once on one core. The table shows each large push as a
  percentage of it.

## Machine

- CPUs: %d x %s; memory %s; kernel %s
- Go (bench): %s
- %s: %s
- %s: %s
- Distribution version: %s
%s- single-core sha256: %s MB/s
- load average (1, 5, 15 min): %s at start, %s at end

`, a, d, e.rounds, sizeLabel(e.bigSize), e.smallCount, e.headDur, sizeLabel(e.imageSize), e.imageCount,
		e.nproc, e.cpu, e.memory, e.kernel, e.goVersion, a, e.binaries[0], d, e.binaries[1], e.distVer,
		toolLines(e.tools), mb(e.shaRate), e.loadStart, e.loadEnd)

	fmt.Fprintf(&b, "## Results (median of %d rounds)\n", e.rounds)
	for _, t := range r.nonEmpty() {
		if isS3Table(t) {
			continue // in the S3 section
		}
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
		if isS3Table(t) {
			continue
		}
		if t.title != "" {
			fmt.Fprintf(&b, "\n### %s\n", t.title)
		}
		fmt.Fprintf(&b, "\n| Scenario | Unit | %s | %s |\n|---|---|---|---|\n", t.names[0], t.names[1])
		for _, rw := range r.rows(t) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rw.m.label, rw.m.unit, joinValues(rw.m, rw.aRun), joinValues(rw.m, rw.bRun))
		}
	}
	b.WriteString(s3Section(e, r))
	return b.String()
}

// toolLines renders tools as list items, one per line.
func toolLines(tools []string) string {
	var b strings.Builder
	for _, t := range tools {
		b.WriteString("- " + t + "\n")
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
