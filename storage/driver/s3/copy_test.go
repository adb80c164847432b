package s3

import (
	"bytes"
	"testing"

	"github.com/berthhq/berth/internal/s3test"
)

// Objects above copyThreshold move with parallel UploadPartCopy requests;
// the parts, the last one short, must come back whole and in order.
func TestCopyParts(t *testing.T) {
	b := s3test.New(t)
	d, err := New(t.Context(), Config{Bucket: b.Name, RegionEndpoint: b.Endpoint, ForcePathStyle: true, Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, RootDirectory: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 3*MinChunkSize+12345)
	for i := range content {
		content[i] = byte(i * 7 / 5)
	}
	if err := d.PutContent(t.Context(), "/src", content); err != nil {
		t.Fatal(err)
	}
	if err := d.copyParts(t.Context(), d.key("/src"), d.key("/dst"), int64(len(content)), MinChunkSize); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetContent(t.Context(), "/dst")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("copy: %d bytes, %v; want the %d source bytes", len(got), err, len(content))
	}
	if n := countUploads(t, d); n != 0 {
		t.Fatalf("%d multipart uploads left after the copy", n)
	}
}
