package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/inmemory"
	"github.com/opencontainers/go-digest"
)

// urlDriver hands out fake URLs naming the path and expiry asked for.
type urlDriver struct{ driver.Driver }

func (urlDriver) URLFor(_ context.Context, p string, expiry time.Duration) (string, error) {
	return "https://backend.test" + p + "?expires=" + expiry.String(), nil
}

func TestBlobURL(t *testing.T) {
	ctx := context.Background()
	d := urlDriver{inmemory.New()}
	s := newStore(t, d)
	r := mustRepo(t, s, "app")
	desc := pushBlob(t, r, mtOCILayer, randomBytes(t, 100))

	url, err := r.BlobURL(ctx, desc.Digest, 20*time.Minute)
	if want := "https://backend.test" + blobData(desc.Digest) + "?expires=20m0s"; err != nil || url != want {
		t.Errorf("BlobURL = %q, %v; want %q", url, err, want)
	}
	for name, d := range map[string]digest.Digest{
		"unknown blob":                   digest.FromString("never pushed"),
		"blob of another repository":     pushBlob(t, mustRepo(t, s, "other"), mtOCILayer, randomBytes(t, 10)).Digest,
		"linked but content gone (gc'd)": goneBlob(t, d, r),
	} {
		t.Run(name, func(t *testing.T) {
			if url, err := r.BlobURL(ctx, d, time.Minute); !errors.Is(err, storage.ErrBlobUnknown) {
				t.Errorf("BlobURL = %q, %v; want ErrBlobUnknown", url, err)
			}
		})
	}
	if _, err := r.BlobURL(ctx, "sha256:nope", time.Minute); !errors.Is(err, storage.ErrDigestInvalid) {
		t.Errorf("BlobURL of a malformed digest: %v; want ErrDigestInvalid", err)
	}
}

// goneBlob pushes a blob to r and deletes its content behind the store's
// back, leaving the link.
func goneBlob(t *testing.T, d driver.Driver, r *storage.Repository) digest.Digest {
	t.Helper()
	desc := pushBlob(t, r, mtOCILayer, randomBytes(t, 10))
	if err := d.Delete(context.Background(), blobData(desc.Digest)); err != nil {
		t.Fatal(err)
	}
	return desc.Digest
}

func TestBlobURLUnsupported(t *testing.T) {
	r := mustRepo(t, newStore(t, inmemory.New()), "app")
	desc := pushBlob(t, r, mtOCILayer, randomBytes(t, 10))
	if url, err := r.BlobURL(context.Background(), desc.Digest, time.Minute); !errors.Is(err, driver.ErrUnsupported) {
		t.Errorf("BlobURL on inmemory = %q, %v; want ErrUnsupported", url, err)
	}
}

// TestBlobURLS3 fetches a presigned URL of the S3 driver with a plain
// client.
func TestBlobURLS3(t *testing.T) {
	r := mustRepo(t, newStore(t, newS3Driver(t)), "app")
	content := randomBytes(t, 1<<20)
	desc := pushBlob(t, r, mtOCILayer, content)
	url, err := r.BlobURL(context.Background(), desc.Digest, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, content) {
		t.Errorf("GET presigned URL: %s, %d bytes, %v", resp.Status, len(got), err)
	}
}
