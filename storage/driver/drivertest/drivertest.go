// Package drivertest is the conformance suite every storage driver passes:
// Run(t, newDriver) checks the contract of driver.Driver (and driver.Opener
// when implemented) on a fresh driver per subtest.
package drivertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/berthhq/berth/storage/driver"
)

// testCase is one conformance check, run on a fresh driver.
type testCase struct {
	name string
	fn   func(t *testing.T, d driver.Driver)
}

// Run runs the conformance suite. newDriver must return a new, empty driver
// for each call; it may register t.Cleanup checks of its own (for example
// that no temporary files remain), which run after the subtest's body.
func Run(t *testing.T, newDriver func(t *testing.T) driver.Driver) {
	t.Helper()
	var cases []testCase
	cases = append(cases, contentCases()...)
	cases = append(cases, writerCases()...)
	cases = append(cases, treeCases()...)
	cases = append(cases, errorCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			tc.fn(t, d)
			if !t.Failed() {
				checkConsistent(t, d)
			}
		})
	}
}

// checkConsistent walks the whole tree and checks that every entry is
// listed by its parent and that Stat and GetContent agree with Walk.
func checkConsistent(t *testing.T, d driver.Driver) {
	t.Helper()
	ctx := t.Context()
	err := d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		st, err := d.Stat(ctx, fi.Path())
		if err != nil {
			t.Errorf("consistency: Stat(%s) of a walked entry: %v", fi.Path(), err)
			return nil
		}
		if st.IsDir() != fi.IsDir() || (!fi.IsDir() && st.Size() != fi.Size()) {
			t.Errorf("consistency: Walk says %s dir=%v size=%d, Stat says dir=%v size=%d",
				fi.Path(), fi.IsDir(), fi.Size(), st.IsDir(), st.Size())
		}
		if !fi.IsDir() {
			b, err := d.GetContent(ctx, fi.Path())
			if err != nil || int64(len(b)) != fi.Size() {
				t.Errorf("consistency: GetContent(%s) = %d bytes, %v; want %d bytes", fi.Path(), len(b), err, fi.Size())
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("consistency: Walk(/): %v", err)
	}
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

func put(t *testing.T, d driver.Driver, p string, b []byte) {
	t.Helper()
	if err := d.PutContent(t.Context(), p, b); err != nil {
		t.Fatalf("PutContent(%s): %v", p, err)
	}
}

func get(t *testing.T, d driver.Driver, p string) []byte {
	t.Helper()
	b, err := d.GetContent(t.Context(), p)
	if err != nil {
		t.Fatalf("GetContent(%s): %v", p, err)
	}
	return b
}

// readAll reads the object at p through Reader from offset.
func readAll(t *testing.T, d driver.Driver, p string, offset int64) []byte {
	t.Helper()
	r, err := d.Reader(t.Context(), p, offset)
	if err != nil {
		t.Fatalf("Reader(%s, %d): %v", p, offset, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s from %d: %v", p, offset, err)
	}
	return b
}

func wantContent(t *testing.T, d driver.Driver, p string, want []byte) {
	t.Helper()
	if got := get(t, d, p); !bytes.Equal(got, want) {
		t.Fatalf("GetContent(%s) = %d bytes %.16q..., want %d bytes %.16q...", p, len(got), got, len(want), want)
	}
	fi, err := d.Stat(t.Context(), p)
	if err != nil {
		t.Fatalf("Stat(%s): %v", p, err)
	}
	if fi.IsDir() || fi.Size() != int64(len(want)) || fi.Path() != p {
		t.Fatalf("Stat(%s) = path %s dir=%v size=%d, want a %d-byte object", p, fi.Path(), fi.IsDir(), fi.Size(), len(want))
	}
}

// wantNotFound checks that err is a *driver.PathError wrapping
// driver.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	var pe *driver.PathError
	switch {
	case err == nil:
		t.Errorf("%s: no error, want one wrapping driver.ErrNotFound", what)
	case !errors.Is(err, driver.ErrNotFound):
		t.Errorf("%s: %v, want an error wrapping driver.ErrNotFound", what, err)
	case !errors.As(err, &pe):
		t.Errorf("%s: %v (%T), want a *driver.PathError", what, err, err)
	}
}

// walkPaths returns the paths Walk visits below p, in order.
func walkPaths(t *testing.T, d driver.Driver, p string) []string {
	t.Helper()
	var out []string
	err := d.Walk(t.Context(), p, func(fi driver.FileInfo) error {
		out = append(out, fi.Path())
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%s): %v", p, err)
	}
	return out
}

// recent reports whether tm is plausibly a modification time set just now.
func recent(tm time.Time) bool {
	return !tm.IsZero() && time.Since(tm).Abs() < time.Hour
}

// cancelledContext returns a context that is already cancelled.
func cancelledContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
