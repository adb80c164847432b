package s3

import (
	"bytes"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/berthhq/berth/internal/s3test"
)

// A process killed while writing leaves a multipart upload that no path
// shows; PurgeWrites finds it by age and aborts it, and leaves younger
// ones and committed objects alone.
func TestPurgeWritesAbortsAbandonedUploads(t *testing.T) {
	b := s3test.New(t)
	d, err := New(t.Context(), Config{
		Bucket: b.Name, RegionEndpoint: b.Endpoint, ForcePathStyle: true, Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, ChunkSize: MinChunkSize, RootDirectory: "purge",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := d.PutContent(ctx, "/keep", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	abandon := func(p string) {
		w, err := d.Writer(ctx, p, false)
		if err != nil {
			t.Fatal(err)
		}
		// Two full parts start the multipart upload; the writer is then
		// dropped without Close, as by a SIGKILL.
		if _, err := w.Write(bytes.Repeat([]byte("x"), 2*MinChunkSize+1)); err != nil {
			t.Fatal(err)
		}
		w.(*writer).wg.Wait()
	}
	abandon("/r/_uploads/a/data")
	abandon("/r/_uploads/b/data")
	if n := countUploads(t, d); n != 2 {
		t.Fatalf("%d multipart uploads before the purge, want 2", n)
	}
	if n, err := d.PurgeWrites(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("PurgeWrites(an hour ago) = %d, %v; want 0 (both are younger)", n, err)
	}
	if n, err := d.PurgeWrites(ctx, time.Now().Add(time.Minute)); err != nil || n != 2 {
		t.Fatalf("PurgeWrites(now) = %d, %v; want 2", n, err)
	}
	if n := countUploads(t, d); n != 0 {
		t.Fatalf("%d multipart uploads after the purge, want 0", n)
	}
	if got, err := d.GetContent(ctx, "/keep"); err != nil || string(got) != "kept" {
		t.Fatalf("committed object after the purge: %q, %v", got, err)
	}
}

func countUploads(t *testing.T, d *Driver) int {
	t.Helper()
	out, err := d.client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: d.bucket, Prefix: aws.String(d.root)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}
