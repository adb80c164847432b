package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The S3 section of BENCHMARKS.md lies between these two lines, so that a run of only the S3
// scenarios (`-run s3 -out BENCHMARKS.md`) rewrites it and leaves the rest of the file alone,
// and a full run without them keeps the section the file had.
const (
	s3Begin = "<!-- S3 section: `go run ./bench -run s3 -out BENCHMARKS.md` rewrites only this part -->"
	s3End   = "<!-- end of S3 section -->"
)

// isS3Table reports whether t holds the S3 scenarios' metrics.
func isS3Table(t *table) bool { return t.title == s3Comparison }

// report returns the new contents of the markdown file at path for this run: the S3 section
// spliced into the file as it is when the run measured only S3 scenarios, else the whole report
// (keeping the file's S3 section if this run has none).
func report(path string, e env, r *results) ([]byte, error) {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s3Only, anyS3 := true, false
	for _, t := range r.nonEmpty() {
		s3Only = s3Only && isS3Table(t)
		anyS3 = anyS3 || isS3Table(t)
	}
	if s3Only && anyS3 {
		if len(old) == 0 {
			return []byte("# Benchmarks\n" + s3Section(e, r)), nil
		}
		return spliceS3(old, s3Section(e, r)), nil
	}
	doc := markdown(e, r)
	if !anyS3 {
		if sec, ok := cutS3(old); ok {
			doc += "\n" + sec + "\n"
		}
	}
	return []byte(doc), nil
}

// cutS3 returns the S3 section of doc, markers included.
func cutS3(doc []byte) (string, bool) {
	i := bytes.Index(doc, []byte(s3Begin))
	j := bytes.Index(doc, []byte(s3End))
	if i < 0 || j < i {
		return "", false
	}
	return string(doc[i : j+len(s3End)]), true
}

// spliceS3 replaces doc's S3 section with sec (which starts with a blank line and holds the
// markers), or appends sec when doc has none.
func spliceS3(doc []byte, sec string) []byte {
	sec = strings.TrimPrefix(sec, "\n")
	if old, ok := cutS3(doc); ok {
		return bytes.Replace(doc, []byte(old), []byte(strings.TrimSuffix(sec, "\n")), 1)
	}
	return append(append(bytes.TrimRight(doc, "\n"), "\n\n"...), sec...)
}

// s3Section renders the S3 scenarios' part of the report, or "" when the run has none.
func s3Section(e env, r *results) string {
	var tables []*table
	for _, t := range r.nonEmpty() {
		if isS3Table(t) {
			tables = append(tables, t)
		}
	}
	if len(tables) == 0 {
		return ""
	}
	t := tables[0]
	a, d := t.names[0], t.names[1]
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n## On S3\n\n", s3Begin)
	fmt.Fprintf(&b, "Written by `go run ./bench` on %s, %d rounds.\n", e.date.Format("2006-01-02 15:04 MST"), e.rounds)
	if e.short || e.selfCheck {
		fmt.Fprintf(&b, "\n**This is a smoke run (short=%v, selfcheck=%v); its numbers are not the comparison.**\n", e.short, e.selfCheck)
	}
	fmt.Fprintf(&b, `
%s and %s each keep their data in a bucket of one versitygw (the S3 gateway the
tests use, .tools/bin/versitygw, posix backend, with keep-alive on: by default it closes every
connection after one request, which real S3 does not) on 127.0.0.1, whose root is a directory in
the run's temp directory, on the same disk as the filesystem stores. Every measurement gets a fresh,
empty bucket (a new directory), removed afterwards, so no run sees another's data. Both
registries get the same registry:2 storage.s3 keys: bucket, region us-east-1, regionendpoint,
static access and secret keys, forcepathstyle true, secure false, default chunk size (10 MiB
for both); Distribution also v4auth true and storage.redirect.disable true, so its blob GETs
stream through the registry as Berth's do by default (registry:2 would otherwise answer 307 to a
presigned URL and the client would read versitygw directly). Everything else is as in the
filesystem runs above, and the load is the same: the large blob push and pull, the small blobs
at concurrency 8, the manifest HEAD storm. versitygw shares the two CPUs with the registry and
the load generator, so S3 figures include its CPU.

- **Catalog**: %s. Then, on each measurement's fresh server: one GET /v2/_catalog?n=100 as the
  registry's first request ("first request after start"), the registry restarted on the same
  bucket, the whole catalog in pages of n=1000 following the Link headers as its first request,
  three more whole-catalog walks and five more n=100 pages ("repeated": the median). Names are
  checked: all repositories, once each, in order. The target: Berth under 1/10 of
  Distribution's time.

Load average (1, 5, 15 min): %s at start, %s at end.
`, a, d, strings.Join(e.notes, "; "), e.loadStart, e.loadEnd)

	fmt.Fprintf(&b, "\n### %s (median of %d rounds)\n", t.title, e.rounds)
	fmt.Fprintf(&b, "\n| Scenario | Unit | %s | %s | %s/%s | Target | Met |\n|---|---|--:|--:|--:|---|---|\n", a, d, a, d)
	for _, rw := range r.rows(t) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", rw.m.label, rw.m.unit,
			formatValue(rw.m, rw.a), formatValue(rw.m, rw.b), rw.ratio, rw.target, rw.met)
	}
	b.WriteString(s3VsFilesystem(r, t))
	fmt.Fprintf(&b, "\n### Every round, on S3\n\n| Scenario | Unit | %s | %s |\n|---|---|---|---|\n", a, d)
	for _, rw := range r.rows(t) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rw.m.label, rw.m.unit, joinValues(rw.m, rw.aRun), joinValues(rw.m, rw.bRun))
	}
	b.WriteString(s3End + "\n")
	return b.String()
}

// s3VsFilesystem renders each registry's S3 medians as a fraction of its own filesystem medians,
// for the throughput metrics measured both ways in this run; "" when there are none.
func s3VsFilesystem(r *results, t *table) string {
	var rows []string
	for _, m := range t.metrics {
		fsKey, ok := strings.CutPrefix(m.key, s3Prefix)
		if _, judged := s3Goals[fsKey]; !ok || !judged {
			continue
		}
		fs, s3 := r.values[fsKey], r.values[m.key]
		if fs == nil || len(fs[0]) == 0 || len(fs[1]) == 0 {
			continue
		}
		frac := func(side int) string {
			if f := median(fs[side]); f > 0 {
				return fmt.Sprintf("%.2fx", median(s3[side])/f)
			}
			return "-"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s |\n", m.label, frac(0), frac(1)))
	}
	if len(rows) == 0 {
		return ""
	}
	return fmt.Sprintf("\n### On S3 as a fraction of the same registry on the filesystem (this run)\n\n| Scenario | %s S3/fs | %s S3/fs |\n|---|--:|--:|\n%s",
		t.names[0], t.names[1], strings.Join(rows, ""))
}
