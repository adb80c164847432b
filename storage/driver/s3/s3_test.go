package s3_test

import (
	"strings"
	"testing"

	"github.com/berthhq/berth/internal/s3test"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/drivertest"
	"github.com/berthhq/berth/storage/driver/s3"
)

// newDriver returns a driver on a bucket of a real S3 server (versitygw),
// under a root directory of its own per call.
func newDriver(t *testing.T, b s3test.Bucket, root string, mutate ...func(*s3.Config)) *s3.Driver {
	t.Helper()
	c := s3.Config{
		Bucket: b.Name, RegionEndpoint: b.Endpoint, ForcePathStyle: true,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Region: s3test.Region,
		RootDirectory: root, ChunkSize: s3.MinChunkSize,
	}
	for _, m := range mutate {
		m(&c)
	}
	d, err := s3.New(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDriverSuite(t *testing.T) {
	b := s3test.New(t)
	drivertest.Run(t, func(t *testing.T) driver.Driver {
		root := "/suite/" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
		return newDriver(t, b, root)
	})
}
