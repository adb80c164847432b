package drivertest

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthhq/berth/storage/driver"
)

func treeCases() []testCase {
	return []testCase{
		{"Stat", testStat},
		{"List", testList},
		{"ListPage", testListPage},
		{"Move", testMove},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"NothingLeftBehind", testNothingLeftBehind},
	}
}

// putTree stores a small object at each path.
func putTree(t *testing.T, d driver.Driver, paths ...string) {
	t.Helper()
	for _, p := range paths {
		put(t, d, p, []byte(p))
	}
}

// testListPage checks driver.ListPage, which is the driver's own when it is
// a driver.Pager: objects only, in order, from a name on, a page at a time.
func testListPage(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	names := []string{"a", "a-b", "a.b", "a0", "a:b", "b", "c_d", "z"}
	for _, n := range names {
		put(t, d, "/p/"+n, []byte(n))
	}
	put(t, d, "/p/sub/x", []byte("in a subdirectory"))
	var got []string
	after := ""
	for range len(names) + 1 {
		page, more, err := driver.ListPage(ctx, d, "/p", after, 3)
		if err != nil {
			t.Fatalf("ListPage(/p, %q, 3): %v", after, err)
		}
		if len(page) > 3 {
			t.Fatalf("ListPage(/p, %q, 3) returned %d paths", after, len(page))
		}
		got = append(got, page...)
		if len(page) > 0 {
			after = page[len(page)-1][len("/p/"):]
		}
		if !more {
			break
		}
	}
	var want []string
	for _, n := range names {
		want = append(want, "/p/"+n)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListPage pages = %q, want %q", got, want)
	}
	page, _, err := driver.ListPage(ctx, d, "/p", "a0", 100)
	if err != nil || !slices.Equal(page, want[4:]) {
		t.Errorf("ListPage(/p, a0) = %q, %v; want %q", page, err, want[4:])
	}
}

func testStat(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	put(t, d, "/s/dir/obj", []byte("12345"))
	for _, tc := range []struct {
		path  string
		dir   bool
		size  int64
		mtime bool
	}{
		{"/s/dir/obj", false, 5, true},
		{"/s/dir", true, -1, false},
		{"/s", true, -1, false},
		{"/", true, -1, false},
	} {
		fi, err := d.Stat(ctx, tc.path)
		if err != nil {
			t.Errorf("Stat(%s): %v", tc.path, err)
			continue
		}
		if fi.Path() != tc.path || fi.IsDir() != tc.dir || (tc.size >= 0 && fi.Size() != tc.size) {
			t.Errorf("Stat(%s) = path %s dir=%v size=%d, want dir=%v size=%d",
				tc.path, fi.Path(), fi.IsDir(), fi.Size(), tc.dir, tc.size)
		}
		if tc.mtime && !recent(fi.ModTime()) {
			t.Errorf("Stat(%s).ModTime() = %v, want about now", tc.path, fi.ModTime())
		}
	}
}

func testList(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	putTree(t, d, "/l/a/b", "/l/a/c/d", "/l/a/c/e", "/l/f", "/top")
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/l", []string{"/l/a", "/l/f"}},
		{"/l/a", []string{"/l/a/b", "/l/a/c"}},
		{"/l/a/c", []string{"/l/a/c/d", "/l/a/c/e"}},
		{"/", []string{"/l", "/top"}},
	} {
		got, err := d.List(ctx, tc.path)
		if err != nil {
			t.Errorf("List(%s): %v", tc.path, err)
			continue
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
	_, err := d.List(ctx, "/l/f")
	wantNotFound(t, "List of an object", err)
}

func testMove(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	tests := []struct {
		name, src, dst string
		existing       []byte // at dst before the move, if any
	}{
		{"sibling", "/m/a", "/m/b", nil},
		{"overwrite", "/m/c", "/m/d", []byte("to be replaced, and longer than the source")},
		{"into new directories", "/m/e", "/m/x/y/z/e", nil},
		{"blob commit", "/r/_uploads/u/data", "/blobs/sha256/ab/abcd/data", nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := randomBytes(1000+i, uint64(10+i))
			put(t, d, tc.src, content)
			if tc.existing != nil {
				put(t, d, tc.dst, tc.existing)
			}
			if err := d.Move(ctx, tc.src, tc.dst); err != nil {
				t.Fatalf("Move(%s, %s): %v", tc.src, tc.dst, err)
			}
			wantContent(t, d, tc.dst, content)
			_, err := d.Stat(ctx, tc.src)
			wantNotFound(t, "Stat of a moved source", err)
		})
	}
	t.Run("missing source", func(t *testing.T) {
		put(t, d, "/m/keep", []byte("keep"))
		wantNotFound(t, "Move of a missing source", d.Move(ctx, "/m/missing", "/m/keep"))
		wantContent(t, d, "/m/keep", []byte("keep"))
	})
}

func testDelete(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	tree := []string{"/del/a/b/c", "/del/a/b/d", "/del/a/e", "/del/a/f/g/h"}
	putTree(t, d, tree...)
	putTree(t, d, "/del/ab", "/del/a-sibling/x")

	if err := d.Delete(ctx, "/del/a/e"); err != nil {
		t.Fatalf("Delete(object): %v", err)
	}
	_, err := d.Stat(ctx, "/del/a/e")
	wantNotFound(t, "Stat of a deleted object", err)

	if err := d.Delete(ctx, "/del/a"); err != nil {
		t.Fatalf("Delete(tree): %v", err)
	}
	for _, p := range append(tree, "/del/a", "/del/a/b", "/del/a/f/g") {
		_, err := d.Stat(ctx, p)
		wantNotFound(t, "Stat("+p+") in a deleted tree", err)
	}
	_, err = d.List(ctx, "/del/a")
	wantNotFound(t, "List of a deleted tree", err)
	err = d.Walk(ctx, "/del/a", func(driver.FileInfo) error { return nil })
	wantNotFound(t, "Walk of a deleted tree", err)
	// Names sharing the deleted tree's prefix survive.
	wantContent(t, d, "/del/ab", []byte("/del/ab"))
	wantContent(t, d, "/del/a-sibling/x", []byte("/del/a-sibling/x"))

	wantNotFound(t, "Delete of a deleted tree", d.Delete(ctx, "/del/a"))
}

func testWalk(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	// Put in an order unlike the walk's; '-' < '.' < '/' < letters in ASCII.
	putTree(t, d, "/w/c", "/w/b/z/q", "/w/a.c/y", "/w/a/x", "/w/b/y", "/w/a-b", "/other")
	all := []string{"/w/a", "/w/a/x", "/w/a-b", "/w/a.c", "/w/a.c/y", "/w/b", "/w/b/y", "/w/b/z", "/w/b/z/q", "/w/c"}
	dirs := map[string]bool{"/w/a": true, "/w/a.c": true, "/w/b": true, "/w/b/z": true}
	errStop := errors.New("stop")
	tests := []struct {
		name    string
		root    string
		ret     map[string]error // what fn returns for a path
		want    []string
		wantErr error
	}{
		{"all", "/w", nil, all, nil},
		{"subdirectory", "/w/b", nil, []string{"/w/b/y", "/w/b/z", "/w/b/z/q"}, nil},
		{"root", "/", nil, append([]string{"/other", "/w"}, all...), nil},
		{"skip directory", "/w", map[string]error{"/w/b": driver.ErrSkipDir}, []string{"/w/a", "/w/a/x", "/w/a-b", "/w/a.c", "/w/a.c/y", "/w/b", "/w/c"}, nil},
		{"skip from a file skips its siblings", "/w", map[string]error{"/w/a-b": driver.ErrSkipDir}, []string{"/w/a", "/w/a/x", "/w/a-b"}, nil},
		{"error stops", "/w", map[string]error{"/w/a.c/y": errStop}, all[:5], errStop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := d.Walk(ctx, tc.root, func(fi driver.FileInfo) error {
				got = append(got, fi.Path())
				if want := dirs[fi.Path()] || fi.Path() == "/w"; fi.IsDir() != want {
					t.Errorf("Walk gave %s with IsDir() = %v", fi.Path(), fi.IsDir())
				}
				if !fi.IsDir() && fi.Size() != int64(len(fi.Path())) {
					t.Errorf("Walk gave %s with Size() = %d, want %d", fi.Path(), fi.Size(), len(fi.Path()))
				}
				return tc.ret[fi.Path()]
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("Walk(%s) = %v, want %v", tc.root, err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Walk(%s) visited\n%q\nwant\n%q", tc.root, got, tc.want)
			}
		})
	}
	err := d.Walk(ctx, "/w/c", func(driver.FileInfo) error { return nil })
	wantNotFound(t, "Walk of an object", err)
}

// testNothingLeftBehind stores objects in every way the driver offers,
// removes them, and checks that the tree is empty again.
func testNothingLeftBehind(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	if got := walkPaths(t, d, "/"); len(got) != 0 {
		t.Fatalf("a new driver walks %q, want nothing", got)
	}
	putTree(t, d, "/n/a/b", "/n/c", "/z")
	w := newWriter(t, d, "/n/up/data", false)
	writeChunks(t, w, randomBytes(200_000, 9), 50_000, 8)
	commitClose(t, w)
	w = newWriter(t, d, "/n/cancelled/data", false)
	writeChunks(t, w, []byte("gone"), 2, 9)
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := d.Move(ctx, "/n/up/data", "/n/blob/data"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	top, err := d.List(ctx, "/")
	if err != nil {
		t.Fatalf("List(/): %v", err)
	}
	for _, p := range top {
		if err := d.Delete(ctx, p); err != nil {
			t.Fatalf("Delete(%s): %v", p, err)
		}
	}
	if got := walkPaths(t, d, "/"); len(got) != 0 {
		t.Errorf("after deleting everything Walk(/) = %q, want nothing", got)
	}
	if got, err := d.List(ctx, "/"); err != nil || len(got) != 0 {
		t.Errorf("after deleting everything List(/) = %q, %v; want nothing", got, err)
	}
}
