package drivertest

import (
	"context"
	"errors"
	"testing"

	"github.com/berthhq/berth/storage/driver"
)

func errorCases() []testCase {
	return []testCase{
		{"NotFound", testNotFound},
		{"InvalidPaths", testInvalidPaths},
		{"CancelledContext", testCancelledContext},
	}
}

// calls exercises every method on path p (Move with p as source) and
// returns their errors by name; readers and writers that open are closed.
func calls(ctx context.Context, d driver.Driver, p string) map[string]error {
	errs := map[string]error{}
	_, errs["GetContent"] = d.GetContent(ctx, p)
	errs["PutContent"] = d.PutContent(ctx, p, []byte("x"))
	r, err := d.Reader(ctx, p, 0)
	if err == nil {
		r.Close()
	}
	errs["Reader"] = err
	for name, appendMode := range map[string]bool{"Writer": false, "Writer(append)": true} {
		w, err := d.Writer(ctx, p, appendMode)
		if err == nil {
			_ = w.Cancel(ctx)
		}
		errs[name] = err
	}
	_, errs["Stat"] = d.Stat(ctx, p)
	_, errs["List"] = d.List(ctx, p)
	errs["Move"] = d.Move(ctx, p, "/valid/dest")
	errs["Move(dest)"] = d.Move(ctx, "/valid/src", p)
	errs["Delete"] = d.Delete(ctx, p)
	errs["Walk"] = d.Walk(ctx, p, func(driver.FileInfo) error { return nil })
	if o, ok := d.(driver.Opener); ok {
		f, err := o.Open(ctx, p)
		if err == nil {
			f.Close()
		}
		errs["Open"] = err
	}
	return errs
}

func testNotFound(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	put(t, d, "/nf/object", []byte("x"))
	for _, tc := range []struct {
		name, path string
	}{
		{"missing", "/nf/missing"},
		{"below a missing directory", "/nf/no/such/dir/obj"},
		{"below an object", "/nf/object/child"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.GetContent(ctx, tc.path)
			wantNotFound(t, "GetContent", err)
			_, err = d.Reader(ctx, tc.path, 0)
			wantNotFound(t, "Reader", err)
			_, err = d.Writer(ctx, tc.path, true)
			wantNotFound(t, "Writer(append)", err)
			_, err = d.Stat(ctx, tc.path)
			wantNotFound(t, "Stat", err)
			_, err = d.List(ctx, tc.path)
			wantNotFound(t, "List", err)
			wantNotFound(t, "Move", d.Move(ctx, tc.path, "/nf/dest"))
			wantNotFound(t, "Delete", d.Delete(ctx, tc.path))
			wantNotFound(t, "Walk", d.Walk(ctx, tc.path, func(driver.FileInfo) error { return nil }))
			if o, ok := d.(driver.Opener); ok {
				_, err = o.Open(ctx, tc.path)
				wantNotFound(t, "Open", err)
			}
			var pe *driver.PathError
			if _, err := d.Stat(ctx, tc.path); errors.As(err, &pe) && (pe.Path != tc.path || pe.Driver != d.Name()) {
				t.Errorf("PathError = %+v, want Path %s and Driver %s", pe, tc.path, d.Name())
			}
		})
	}
	// A directory is not an object.
	put(t, d, "/nf/dir/obj", []byte("x"))
	_, err := d.GetContent(ctx, "/nf/dir")
	wantNotFound(t, "GetContent of a directory", err)
	_, err = d.Reader(ctx, "/nf/dir", 0)
	wantNotFound(t, "Reader of a directory", err)
	_, err = d.GetContent(ctx, "/")
	wantNotFound(t, "GetContent(/)", err)
	if _, err := d.Stat(ctx, "/nf/dest"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Stat(/nf/dest) after failed moves = %v, want not found", err)
	}
}

func testInvalidPaths(t *testing.T, d driver.Driver) {
	put(t, d, "/valid/src", []byte("src"))
	for _, p := range []string{
		"", "relative", "a/b", "//", "//a", "/a//b", "/a/", "/a/b/",
		"/..", "/.", "/a/..", "/a/../b", "/a/./b", "/../etc/passwd",
		"/a b", "/a\x00b", "/a\\b", "/ä", "/a?b", "/a*b",
	} {
		for name, err := range calls(t.Context(), d, p) {
			var ie *driver.InvalidPathError
			if !errors.As(err, &ie) {
				t.Errorf("%s(%q) = %v, want *driver.InvalidPathError", name, p, err)
			} else if ie.Path != p {
				t.Errorf("%s(%q): InvalidPathError.Path = %q", name, p, ie.Path)
			}
		}
	}
	wantContent(t, d, "/valid/src", []byte("src"))
}

func testCancelledContext(t *testing.T, d driver.Driver) {
	put(t, d, "/valid/src", []byte("src"))
	put(t, d, "/cc/obj", []byte("obj"))
	for name, err := range calls(cancelledContext(t), d, "/cc/obj") {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
		}
	}
	wantContent(t, d, "/valid/src", []byte("src"))
	wantContent(t, d, "/cc/obj", []byte("obj"))
}
