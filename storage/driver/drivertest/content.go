package drivertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/berthhq/berth/storage/driver"
)

func contentCases() []testCase {
	return []testCase{
		{"PutGetRoundTrip", testPutGetRoundTrip},
		{"PutOverwrite", testPutOverwrite},
		{"ReaderOffsets", testReaderOffsets},
		{"Opener", testOpener},
		{"ConcurrentPutGetAtomic", testConcurrentPutGet},
	}
}

func testPutGetRoundTrip(t *testing.T, d driver.Driver) {
	tests := []struct {
		name    string
		path    string
		content []byte
	}{
		{"empty", "/empty", []byte{}},
		{"one byte", "/one", []byte{0}},
		{"text", "/a/b/c/link", []byte("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")},
		{"odd characters", "/x_y/A.b-c:d/v1.0_rc-1", []byte("odd")},
		{"leading dots", "/d/.hidden/..x", []byte("dots")},
		{"3 MiB", "/docker/registry/v2/blobs/sha256/ab/abcd/data", randomBytes(3<<20+7, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			put(t, d, tc.path, tc.content)
			wantContent(t, d, tc.path, tc.content)
			if got := readAll(t, d, tc.path, 0); !bytes.Equal(got, tc.content) {
				t.Errorf("Reader(%s, 0) read %d bytes, want %d", tc.path, len(got), len(tc.content))
			}
		})
	}
	// GetContent hands out a copy: changing it must not change the object.
	b := get(t, d, "/one")
	b[0] = 1
	wantContent(t, d, "/one", []byte{0})
}

func testPutOverwrite(t *testing.T, d driver.Driver) {
	long, short := randomBytes(100_000, 2), []byte("short")
	put(t, d, "/o/obj", long)
	put(t, d, "/o/obj", short)
	wantContent(t, d, "/o/obj", short)
	put(t, d, "/o/obj", []byte{})
	wantContent(t, d, "/o/obj", []byte{})
	put(t, d, "/o/obj", long)
	wantContent(t, d, "/o/obj", long)
	if got := walkPaths(t, d, "/o"); len(got) != 1 || got[0] != "/o/obj" {
		t.Errorf("after overwrites Walk(/o) = %q, want only /o/obj", got)
	}
}

func testReaderOffsets(t *testing.T, d driver.Driver) {
	content := randomBytes(1000, 3)
	put(t, d, "/r/obj", content)
	put(t, d, "/r/empty", nil)
	for _, tc := range []struct {
		path   string
		offset int64
		want   []byte
	}{
		{"/r/obj", 0, content},
		{"/r/obj", 1, content[1:]},
		{"/r/obj", 500, content[500:]},
		{"/r/obj", 999, content[999:]},
		{"/r/obj", 1000, []byte{}},
		{"/r/empty", 0, []byte{}},
	} {
		if got := readAll(t, d, tc.path, tc.offset); !bytes.Equal(got, tc.want) {
			t.Errorf("Reader(%s, %d) read %d bytes, want %d", tc.path, tc.offset, len(got), len(tc.want))
		}
	}
	for _, tc := range []struct {
		path   string
		offset int64
	}{
		{"/r/obj", 1001},
		{"/r/obj", 1 << 40},
		{"/r/obj", -1},
		{"/r/empty", 1},
	} {
		r, err := d.Reader(t.Context(), tc.path, tc.offset)
		var oe *driver.InvalidOffsetError
		if !errors.As(err, &oe) {
			if r != nil {
				r.Close()
			}
			t.Errorf("Reader(%s, %d) = %v, want *driver.InvalidOffsetError", tc.path, tc.offset, err)
			continue
		}
		if oe.Path != tc.path || oe.Offset != tc.offset {
			t.Errorf("InvalidOffsetError = %+v, want path %s offset %d", oe, tc.path, tc.offset)
		}
	}
}

func testOpener(t *testing.T, d driver.Driver) {
	o, ok := d.(driver.Opener)
	if !ok {
		t.Skipf("%s does not implement driver.Opener", d.Name())
	}
	content := randomBytes(64<<10+3, 4)
	put(t, d, "/open/obj", content)
	f, err := o.Open(t.Context(), "/open/obj")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	if end, err := f.Seek(0, io.SeekEnd); err != nil || end != int64(len(content)) {
		t.Fatalf("Seek(0, end) = %d, %v; want %d", end, err, len(content))
	}
	for _, r := range []struct{ off, n int64 }{{0, 10}, {1000, 4096}, {int64(len(content)) - 5, 5}, {7, 0}} {
		if _, err := f.Seek(r.off, io.SeekStart); err != nil {
			t.Fatalf("Seek(%d): %v", r.off, err)
		}
		got := make([]byte, r.n)
		if _, err := io.ReadFull(f, got); err != nil {
			t.Fatalf("read %d bytes at %d: %v", r.n, r.off, err)
		}
		if !bytes.Equal(got, content[r.off:r.off+r.n]) {
			t.Errorf("range %d+%d differs", r.off, r.n)
		}
	}
	if _, err := f.Seek(int64(len(content)), io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read at end = %d, %v; want 0, io.EOF", n, err)
	}
	_, err = o.Open(t.Context(), "/open/missing")
	wantNotFound(t, "Open(missing)", err)
	_, err = o.Open(t.Context(), "/open")
	wantNotFound(t, "Open(directory)", err)
}

// testConcurrentPutGet checks PutContent's atomicity: readers racing many
// writers of one path only ever see one writer's whole content.
func testConcurrentPutGet(t *testing.T, d driver.Driver) {
	const (
		writers = 8
		rounds  = 10
		readers = 8
		size    = 256 << 10
	)
	const p = "/race/obj"
	contents := make(map[string]int, writers)
	versions := make([][]byte, writers)
	for i := range versions {
		versions[i] = bytes.Repeat([]byte(fmt.Sprintf("<%d>", i)), size/3)
		contents[string(versions[i])] = i
	}
	put(t, d, p, versions[0])
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds+readers*rounds*4)
	for i := range writers {
		wg.Go(func() {
			for range rounds {
				if err := d.PutContent(ctx, p, versions[i]); err != nil {
					errs <- fmt.Errorf("PutContent: %w", err)
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for range rounds * 4 {
				b, err := d.GetContent(ctx, p)
				if err != nil {
					errs <- fmt.Errorf("GetContent during concurrent puts: %w", err)
					continue
				}
				if _, ok := contents[string(b)]; !ok {
					errs <- fmt.Errorf("GetContent returned %d bytes matching no writer: a partial or mixed write", len(b))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := walkPaths(t, d, "/race"); len(got) != 1 {
		t.Errorf("after concurrent puts Walk(/race) = %q, want only %s", got, p)
	}
}
