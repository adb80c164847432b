//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/s3test"
)

// s3Root is the rootdirectory every S3 storage of the suite uses, so that
// the tests also check the registry keeps to it.
const s3Root = "e2e"

// s3ChunkSize is the smallest part S3 takes: blobs of a few MiB already
// span several parts, so uploads cross part boundaries in every test.
const s3ChunkSize = 5 << 20

// TempS3 is fresh S3 storage: a versitygw of the test's own on loopback
// (started in a fraction of a second) with an empty bucket, the registry
// under rootdirectory e2e. When the test ends it checks that nothing was
// written beside the root. Without versitygw it skips, or fails in CI.
func TempS3(t testing.TB) Storage {
	t.Helper()
	if _, err := s3test.Binary(); err != nil {
		missing(t, "%v; %s", err, installHint)
	}
	b := s3test.New(t)
	st := S3(b)
	t.Cleanup(func() {
		for dir, only := range map[string][]string{
			b.Dir:                                 {b.Name, versityLocks},
			bucketDirOf(b):                        {s3Root, versityTmp},
			filepath.Join(bucketDirOf(b), s3Root): {"docker"},
		} {
			entries, err := os.ReadDir(dir)
			if os.IsNotExist(err) && dir != b.Dir {
				continue // nothing was written
			}
			if err != nil {
				t.Errorf("S3 storage: %v", err)
				continue
			}
			for _, e := range entries {
				if !slices.Contains(only, e.Name()) {
					t.Errorf("S3 storage: %s appeared in %s; only %s belongs there", e.Name(), dir, strings.Join(only, ", "))
				}
			}
		}
	})
	return st
}

// S3 is storage in bucket b under rootdirectory e2e (registry:2's s3
// driver section, which Distribution reads too), as a config section and
// as REGISTRY_STORAGE_S3_* variables.
func S3(b s3test.Bucket) Storage {
	kv := [][2]string{
		{"bucket", b.Name},
		{"region", s3test.Region},
		{"regionendpoint", b.Endpoint},
		{"accesskey", s3test.AccessKey},
		{"secretkey", s3test.SecretKey},
		{"forcepathstyle", "true"},
		{"rootdirectory", "/" + s3Root},
		{"chunksize", fmt.Sprint(s3ChunkSize)},
	}
	section := map[string]any{}
	vars := []string{"REGISTRY_STORAGE=s3"} // the built-in config's driver is filesystem
	for _, p := range kv {
		section[p[0]] = p[1]
		vars = append(vars, "REGISTRY_STORAGE_S3_"+strings.ToUpper(p[0])+"="+p[1])
	}
	section["forcepathstyle"], section["chunksize"] = true, s3ChunkSize
	return Storage{Name: "s3", Config: map[string]any{"s3": section}, Vars: vars, Bucket: &b}
}

// versityTmp is where versitygw's posix backend keeps its own state inside
// a bucket directory: multipart uploads live in .sgwtmp/multipart.
const versityTmp = ".sgwtmp"

// versityLocks is versitygw's own directory beside the buckets.
const versityLocks = ".vgwlocks"

// s3Bucket is the storage's bucket, failing the test when it has none.
func s3Bucket(t testing.TB, st Storage) s3test.Bucket {
	t.Helper()
	if st.Bucket == nil {
		t.Fatalf("%s storage has no S3 bucket", st.Name)
	}
	return *st.Bucket
}

// bucketDirOf is the directory versitygw keeps the bucket's objects in: each
// key is a file at its path.
func bucketDirOf(b s3test.Bucket) string { return filepath.Join(b.Dir, b.Name) }

// bucketKeys lists the object keys below the storage's root directory (in-flight
// writer states included), sorted.
func bucketKeys(t testing.TB, b s3test.Bucket) []string {
	t.Helper()
	base := filepath.Join(bucketDirOf(b), s3Root)
	var keys []string
	err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		keys = append(keys, rel)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// multipartUploads lists the multipart uploads in progress in the bucket,
// as versitygw's posix backend keeps them (one directory per upload under
// .sgwtmp/multipart/<object hash>/).
func multipartUploads(t testing.TB, b s3test.Bucket) []string {
	t.Helper()
	base := filepath.Join(bucketDirOf(b), versityTmp, "multipart")
	objs, err := os.ReadDir(base)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ups []string
	for _, o := range objs {
		ids, err := os.ReadDir(filepath.Join(base, o.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			ups = append(ups, o.Name()+"/"+id.Name())
		}
	}
	return ups
}
