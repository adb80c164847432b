package storage_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync/atomic"
	"testing"

	"github.com/berthhq/berth/internal/s3test"
	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/filesystem"
	"github.com/berthhq/berth/storage/driver/inmemory"
	"github.com/berthhq/berth/storage/driver/s3"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// v2Root is the registry:2 tree root documented in paths.go.
const v2Root = "/docker/registry/v2"

// Media types of the blobs the fixtures push.
const (
	mtOCIConfig     = "application/vnd.oci.image.config.v1+json"
	mtOCILayer      = "application/vnd.oci.image.layer.v1.tar+gzip"
	mtDockerConfig  = "application/vnd.docker.container.image.v1+json"
	mtDockerLayer   = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mtDockerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	mtEmpty         = "application/vnd.oci.empty.v1+json"
)

// testDrivers are the drivers every storage test runs against; each call
// of newDriver returns a fresh, empty one.
var testDrivers = []struct {
	name      string
	newDriver func(t *testing.T) driver.Driver
}{
	{"filesystem", func(t *testing.T) driver.Driver {
		t.Helper()
		d, err := filesystem.New(t.TempDir())
		if err != nil {
			t.Fatalf("filesystem.New: %v", err)
		}
		return d
	}},
	{"inmemory", func(t *testing.T) driver.Driver { return inmemory.New() }},
	{"s3", newS3Driver},
}

// newS3Driver returns a driver on the shared versitygw bucket, under a root
// directory no other test uses.
func newS3Driver(t *testing.T) driver.Driver {
	t.Helper()
	b := s3test.Shared(t)
	d, err := s3.New(t.Context(), s3.Config{
		Bucket: b.Name, RegionEndpoint: b.Endpoint, ForcePathStyle: true, Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, ChunkSize: s3.MinChunkSize,
		RootDirectory: fmt.Sprintf("t%d", s3Roots.Add(1)),
	})
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return d
}

var s3Roots atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.StopShared()
	os.Exit(code)
}

// env is one fresh driver with a Store over it.
type env struct {
	d driver.Driver
	s *storage.Store
}

// forEachDriver runs fn as one subtest per driver, each on a new driver.
func forEachDriver(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, td := range testDrivers {
		t.Run(td.name, func(t *testing.T) {
			d := td.newDriver(t)
			fn(t, &env{d: d, s: newStore(t, d)})
		})
	}
}

// newStore returns a Store over d. A second Store over the same driver
// shares nothing with the first but the driver's data.
func newStore(t *testing.T, d driver.Driver) *storage.Store {
	t.Helper()
	s, err := storage.New(d)
	if err != nil {
		t.Fatalf("storage.New: %v", err)
	}
	return s
}

// fresh returns a new Store over the env's driver: no cache, no state.
func (e *env) fresh(t *testing.T) *storage.Store {
	t.Helper()
	return newStore(t, e.d)
}

// repo returns the repository name of the env's store.
func (e *env) repo(t *testing.T, name string) *storage.Repository {
	t.Helper()
	return mustRepo(t, e.s, name)
}

func mustRepo(t *testing.T, s *storage.Store, name string) *storage.Repository {
	t.Helper()
	r, err := s.Repository(name)
	if err != nil {
		t.Fatalf("Repository(%q): %v", name, err)
	}
	return r
}

// randomBytes returns n random bytes.
func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pushBlob stores content in r and returns its descriptor with mediaType.
func pushBlob(t *testing.T, r *storage.Repository, mediaType string, content []byte) v1.Descriptor {
	t.Helper()
	d := digest.FromBytes(content)
	desc, err := r.PutBlob(t.Context(), d, bytes.NewReader(content))
	if err != nil {
		t.Fatalf("PutBlob(%s) in %s: %v", d, r.Name(), err)
	}
	if desc.Digest != d || desc.Size != int64(len(content)) {
		t.Fatalf("PutBlob returned %+v, want digest %s size %d", desc, d, len(content))
	}
	return v1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(content))}
}

// readBlob reads the whole blob d of r.
func readBlob(t *testing.T, r *storage.Repository, d digest.Digest) []byte {
	t.Helper()
	rc, _, err := r.OpenBlob(t.Context(), d)
	if err != nil {
		t.Fatalf("OpenBlob(%s): %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading blob %s: %v", d, err)
	}
	return b
}

// jsonBytes marshals v or fails the test.
func jsonBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errReader fails every Read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

var errBody = errors.New("client went away")

// failAfter returns a reader yielding b[:n] and then failing with errBody.
func failAfter(b []byte, n int) io.Reader {
	return io.MultiReader(bytes.NewReader(b[:n]), errReader{errBody})
}

// Paths of the on-disk tree (paths.go), for the tests that inspect or
// damage it on purpose.
func repoDir(name string) string { return path.Join(v2Root, "repositories", name) }

func uploadDir(name, id string) string { return path.Join(repoDir(name), "_uploads", id) }

func blobData(d digest.Digest) string {
	return path.Join(v2Root, "blobs", d.Algorithm().String(), d.Encoded()[:2], d.Encoded(), "data")
}

// assertAbsent fails unless the driver has nothing at p.
func assertAbsent(t *testing.T, d driver.Driver, p string) {
	t.Helper()
	fi, err := d.Stat(t.Context(), p)
	if !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("%s: want nothing there, got %v (err %v)", p, describe(fi), err)
	}
}

// assertNoUploads fails when any upload session remains in repository name.
func assertNoUploads(t *testing.T, d driver.Driver, name string) {
	t.Helper()
	ids, err := d.List(t.Context(), path.Join(repoDir(name), "_uploads"))
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("listing uploads: %v", err)
	}
	if len(ids) > 0 {
		t.Errorf("uploads left behind in %s: %v", name, ids)
	}
}

func describe(fi driver.FileInfo) string {
	if fi == nil {
		return "nothing"
	}
	return fmt.Sprintf("%s (dir=%v size=%d)", fi.Path(), fi.IsDir(), fi.Size())
}

// noPanic runs fn and turns a panic into a test error, so that one bug
// does not take the rest of the package's tests down with it.
func noPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v", what, p)
		}
	}()
	fn()
}
