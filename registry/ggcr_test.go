package registry_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestClientRoundTrip pushes random images and an index with
// go-containerregistry (crane's library) and reads them back whole.
func TestClientRoundTrip(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) {
			_, host := newServer(t, drv.new(t))
			img, err := random.Image(3<<20, 3)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := name.ParseReference(host+"/team/app:v1", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatalf("push: %v", err)
			}
			got, err := remote.Image(ref)
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			if err := validate.Image(got); err != nil {
				t.Fatalf("pulled image invalid: %v", err)
			}
			wantD, _ := img.Digest()
			gotD, _ := got.Digest()
			if wantD != gotD {
				t.Fatalf("digest %s, want %s", gotD, wantD)
			}

			idx, err := random.Index(1024, 2, 3)
			if err != nil {
				t.Fatal(err)
			}
			iref, _ := name.ParseReference(host+"/team/multi:latest", name.Insecure)
			if err := remote.WriteIndex(iref, idx); err != nil {
				t.Fatalf("push index: %v", err)
			}
			gotIdx, err := remote.Index(iref)
			if err != nil {
				t.Fatalf("pull index: %v", err)
			}
			if err := validate.Index(gotIdx); err != nil {
				t.Fatalf("pulled index invalid: %v", err)
			}
			var want, have v1.Hash
			want, _ = idx.Digest()
			have, _ = gotIdx.Digest()
			if want != have {
				t.Fatalf("index digest %s, want %s", have, want)
			}
		})
	}
}
