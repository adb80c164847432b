//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// startReplicas starts n Berth processes on st: the same configuration on
// different ports, as replicas behind a load balancer run.
func startReplicas(t testing.TB, st Storage, n int, opt startOptions) []*Registry {
	t.Helper()
	var rs []*Registry
	for range n {
		rs = append(rs, startRegistry(t, Berth, st, opt))
	}
	return rs
}

// TestScaleOut runs three bin/registry replicas on one storage behind a
// round-robin proxy (each request to the next replica) and drives them
// from many clients at once: chunked uploads whose every request lands on
// another replica, monolithic uploads, pushes from go-containerregistry,
// crane and skopeo, pulls, concurrent tag moves and deletes. Afterwards
// every replica, asked directly, serves identical bytes for every digest,
// the same tags and the same catalog. DESIGN.md promises that no request
// state lives in process memory; S3 is the case, a filesystem
// shared by the replicas (NFS) the other.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		storage StorageFunc
	}{
		{"s3", TempS3},
		{"shared filesystem", TempFilesystem},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			scaleOut(t, tc.storage(t))
		})
	}
}

// scaleRun is one TestScaleOut run: the replicas, the proxy, the clients
// at work and what every replica must serve at the end.
type scaleRun struct {
	p        *roundRobin
	replicas []*Registry
	w        workers
	expected map[string]string // replicaState keys and values
	extra    []string          // replicaState keys no tag reaches

	base    blobData      // uploaded by three clients at once
	chunked []rawManifest // scale/chunked-N:v1
	mono    []rawManifest // scale/mono-N:v1
	moving  []rawManifest // candidates for scale/moving:latest
}

func scaleOut(t *testing.T, st Storage) {
	craneBin, skopeoBin := craneBin(t), skopeoBin(t)
	s := &scaleRun{replicas: startReplicas(t, st, 3, startOptions{}), expected: map[string]string{}}
	s.p = newRoundRobin(t, s.replicas)

	// Phase 1: pushes from every kind of client at once.
	s.pushRaw(t)
	pushGGCR(t, s.p, &s.w, s.expected)
	craneTar := filepath.Join(t.TempDir(), "layer.tar")
	writeTar(t, craneTar, map[string]string{"etc/scale": "pushed by crane through the proxy\n"})
	s.w.spawn("crane append", func() error {
		_, err := tryRun(craneBin, "--insecure", "append", "-f", craneTar, "-t", s.p.Ref("scale/crane:v1"))
		return err
	})
	skopeoImg := ociImage(t, 300<<10, 2)
	s.expected["scale/skopeo:v1"] = digestOf(t, skopeoImg).String()
	skopeoSrc := "oci:" + ociLayout(t, skopeoImg, "v1") + ":v1"
	s.w.spawn("skopeo copy", func() error {
		_, err := tryRun(skopeoBin, "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests",
			skopeoSrc, "docker://"+s.p.Ref("scale/skopeo:v1"))
		return err
	})
	s.w.wait(t)
	for i := range s.chunked {
		expectRotation(t, s.p, fmt.Sprintf("chunked-%d", i), len(s.replicas))
	}

	// Phase 2: pulls, a cross-repository copy and tag moves at once.
	s.pulls("scale/ggcr-0:v1", "scale/ggcr-1:v1", "scale/multi:latest", "scale/skopeo:v1", "scale/crane:v1")
	s.w.spawn("crane copy", func() error {
		_, err := tryRun(craneBin, "--insecure", "copy", s.p.Ref("scale/ggcr-0:v1"), s.p.Ref("scale/copied:v1"))
		return err
	})
	s.expected["scale/copied:v1"] = s.expected["scale/ggcr-0:v1"]
	moveTag(t, s.p, &s.w, s.moving)
	s.w.wait(t)
	agreeOnTag(t, s.replicas, "scale/moving", "latest", s.moving)
	s.expected["scale/moving:latest"] = readAfterWrite(t, s.replicas, s.moving)

	// Phase 3: deletes while others pull.
	s.deletes(t)
	s.expected["catalog"] = "scale/chunked-0,scale/chunked-1,scale/chunked-2,scale/copied,scale/crane," +
		"scale/ggcr-0,scale/ggcr-1,scale/ggcr-2,scale/mono-0,scale/mono-1,scale/moving,scale/multi,scale/skopeo"

	states := statesOf(t, s.replicas, s.extra...)
	sameStates(t, s.replicas, states)
	expectState(t, states[0], s.expected)
	t.Logf("%d digests, tags and lists identical on every replica; requests per replica %v; absolute Locations rewritten: %d",
		len(states[0]), s.p.perReplica(), s.p.rewritten)
}

// pushRaw starts the hand-made uploads: chunked ones (the shared base blob
// too, by three clients at once), monolithic ones, and the tag candidates.
func (s *scaleRun) pushRaw(t testing.TB) {
	t.Helper()
	s.base = newBlob(t, 6<<20+5)
	for i := range 3 {
		repo, key := fmt.Sprintf("scale/chunked-%d", i), fmt.Sprintf("chunked-%d", i)
		m := newRawManifest(t, s.base, newBlob(t, 11<<20+4099))
		s.chunked = append(s.chunked, m)
		s.expected[repo+":v1"] = m.Digest
		s.expected[repo+"@"+m.Layers[1].Digest] = sizeString(len(m.Layers[1].Bytes))
		s.w.spawn(key, func() error {
			c := newRawClient(s.p.URL("/"), key)
			if err := c.chunked(repo, s.base, 2<<20, 1, 3<<20); err != nil {
				return fmt.Errorf("shared blob: %w", err)
			}
			if err := c.chunked(repo, m.Layers[1], 3<<20, 1, 4<<20+3, 5<<19); err != nil {
				return err
			}
			if err := c.monolithic(repo, m.Config); err != nil {
				return err
			}
			return c.putManifest(repo, "v1", m)
		})
	}
	for i := range 2 {
		repo, key := fmt.Sprintf("scale/mono-%d", i), fmt.Sprintf("mono-%d", i)
		m := newRawManifest(t, newBlob(t, 2<<20+i))
		s.mono = append(s.mono, m)
		s.expected[repo+":v1"] = m.Digest
		s.w.spawn(key, func() error {
			c := newRawClient(s.p.URL("/"), key)
			if err := c.monolithic(repo, m.Layers[0]); err != nil {
				return err
			}
			if err := c.postPut(repo, m.Config); err != nil {
				return err
			}
			return c.putManifest(repo, "v1", m)
		})
	}
	for range 4 {
		s.moving = append(s.moving, newRawManifest(t, newBlob(t, 1024)))
	}
	s.w.spawn("moving", func() error {
		c := newRawClient(s.p.URL("/"), "")
		for _, m := range s.moving {
			for _, err := range []error{c.monolithic("scale/moving", m.Layers[0]),
				c.monolithic("scale/moving", m.Config), c.putManifest("scale/moving", m.Digest, m)} {
				if err != nil {
					return err
				}
			}
		}
		return c.putManifest("scale/moving", "latest", s.moving[0])
	})
}

// pulls starts a validating go-containerregistry pull of each reference.
func (s *scaleRun) pulls(refs ...string) {
	for _, r := range refs {
		s.w.spawn("pull "+r, func() error { return pullValid(s.p.Ref(r)) })
	}
}

// deletes removes a tag, two manifests and a blob link through the proxy
// while others pull. Every replica has just served what is deleted, so a
// replica answering from memory afterwards would show.
func (s *scaleRun) deletes(t testing.TB) {
	t.Helper()
	layer := s.chunked[0].Layers[1].Digest
	deleted := map[string]string{
		"manifest scale/mono-0@" + s.mono[0].Digest:   "404 MANIFEST_UNKNOWN",
		"scale/chunked-0@" + layer:                    "404 BLOB_UNKNOWN",
		"manifest scale/moving@" + s.moving[3].Digest: "404 MANIFEST_UNKNOWN",
		"manifest scale/mono-1@" + s.mono[1].Digest:   sizeString(len(s.mono[1].Bytes)), // only its tag goes
		"scale/chunked-1@" + s.base.Digest:            sizeString(len(s.base.Bytes)),
	}
	paths := []string{
		"/v2/scale/mono-1/manifests/v1",
		"/v2/scale/mono-0/manifests/" + s.mono[0].Digest,
		"/v2/scale/chunked-0/blobs/" + layer,
		"/v2/scale/moving/manifests/" + s.moving[3].Digest,
	}
	for _, r := range s.replicas {
		for _, path := range paths {
			r.API(t).do("HEAD", path, hdr{"Accept", ociManifest}, nil).expect(t, http.StatusOK)
		}
	}
	for _, path := range paths {
		s.w.spawn("DELETE "+path, func() error {
			_, err := newRawClient(s.p.URL("/"), "").call("DELETE", path, nil, nil, http.StatusAccepted)
			return err
		})
	}
	s.pulls("scale/ggcr-2:v1", "scale/copied:v1", "scale/multi:latest")
	s.w.wait(t)
	for _, r := range s.replicas {
		r.API(t).do("HEAD", "/v2/scale/mono-1/manifests/v1", nil, nil).expect(t, http.StatusNotFound)
	}
	delete(s.expected, "scale/mono-0:v1")
	delete(s.expected, "scale/mono-1:v1")
	for k, v := range deleted {
		s.expected[k] = v
		s.extra = append(s.extra, k)
	}
}

// expectRotation fails unless the requests with route key went to every
// replica, each to another one than the request before.
func expectRotation(t testing.TB, p *roundRobin, key string, n int) {
	t.Helper()
	rs := p.routes(key)
	seen := map[int]bool{}
	for i, r := range rs {
		seen[r.Replica] = true
		if i > 0 && r.Replica == rs[i-1].Replica {
			t.Errorf("%s: requests %d and %d both went to replica %d", key, i-1, i, r.Replica)
		}
	}
	if len(seen) != n {
		t.Errorf("%s: %d requests reached %d of the %d replicas", key, len(rs), len(seen), n)
	}
}

// pushGGCR pushes images and an index with go-containerregistry through the
// proxy from clients of their own, two of the images sharing layers.
func pushGGCR(t testing.TB, p *roundRobin, w *workers, expected map[string]string) {
	t.Helper()
	shared := ociImage(t, 512<<10, 2)
	for i := range 3 {
		img := shared
		if i > 0 {
			l, err := random.Layer(256<<10, types.OCILayer)
			if err != nil {
				t.Fatal(err)
			}
			if img, err = mutate.AppendLayers(shared, l); err != nil {
				t.Fatal(err)
			}
		}
		if i == 2 {
			img = dockerImage(t, 700<<10, 3)
		}
		r := ref(t, p.Ref(fmt.Sprintf("scale/ggcr-%d:v1", i)))
		expected[r.Context().RepositoryStr()+":v1"] = digestOf(t, img).String()
		w.spawn("ggcr push "+r.String(), func() error { return remote.Write(r, img) })
	}
	idx := multiArch(t, "linux/amd64", "linux/arm64/v8")
	r := ref(t, p.Ref("scale/multi:latest"))
	expected["scale/multi:latest"] = digestOf(t, idx).String()
	w.spawn("ggcr push index", func() error { return remote.WriteIndex(r, idx) })
}

// pullValid pulls s with go-containerregistry and checks every blob.
func pullValid(s string) error {
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		return err
	}
	desc, err := remote.Get(r)
	if err != nil {
		return err
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		return validate.Index(idx)
	}
	img, err := desc.Image()
	if err != nil {
		return err
	}
	return validate.Image(img)
}

// moveTag has four clients move scale/moving:latest between the
// candidates at once while a fifth reads it: every read must find one
// candidate, whole.
func moveTag(t testing.TB, p *roundRobin, w *workers, moving []rawManifest) {
	t.Helper()
	done := make(chan struct{})
	var movers workers
	for g := range 4 {
		movers.spawn(fmt.Sprintf("mover %d", g), func() error {
			c := newRawClient(p.URL("/"), "")
			for k := range 6 {
				if err := c.putManifest("scale/moving", "latest", moving[(g+k)%len(moving)]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	go func() { movers.wg.Wait(); close(done) }()
	w.spawn("tag movers", func() error {
		<-done
		return errorsOf(&movers)
	})
	w.spawn("tag reader", func() error {
		c := newRawClient(p.URL("/"), "")
		for reads := 0; ; reads++ {
			select {
			case <-done:
				if reads == 0 {
					return fmt.Errorf("no read while the tag moved")
				}
				return nil
			default:
			}
			resp, err := c.call("GET", "/v2/scale/moving/manifests/latest", hdr{"Accept", ociManifest}, nil, http.StatusOK)
			if err != nil {
				return err
			}
			d := resp.Header.Get("Docker-Content-Digest")
			if sha256Digest(resp.Body) != d || !slices.ContainsFunc(moving, func(m rawManifest) bool { return m.Digest == d }) {
				return fmt.Errorf("read %d: latest served %s (body digest %s), not a candidate", reads, d, sha256Digest(resp.Body))
			}
		}
	})
}

// errorsOf joins the errors a finished workers gathered.
func errorsOf(w *workers) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%v", w.errs)
}

// agreeOnTag fails unless every replica resolves repo:tag to the same
// candidate, and returns it.
func agreeOnTag(t testing.TB, replicas []*Registry, repo, tag string, candidates []rawManifest) string {
	t.Helper()
	var first string
	for i, r := range replicas {
		resp := r.API(t).do("GET", "/v2/"+repo+"/manifests/"+tag, hdr{"Accept", ociManifest}, nil).expect(t, http.StatusOK)
		d := resp.Header.Get("Docker-Content-Digest")
		if !slices.ContainsFunc(candidates, func(m rawManifest) bool { return m.Digest == d }) {
			t.Errorf("replica %s: %s:%s is %s, no candidate", r.Host, repo, tag, d)
		}
		if i == 0 {
			first = d
		} else if d != first {
			t.Errorf("%s:%s: replica %s says %s, replica %s says %s", repo, tag, replicas[0].Host, first, r.Host, d)
		}
	}
	return first
}

// readAfterWrite moves the tag on each replica in turn and reads it at
// once from all of them: no replica may answer from a stale memory. It
// returns where the tag ends.
func readAfterWrite(t testing.TB, replicas []*Registry, moving []rawManifest) string {
	t.Helper()
	var last string
	for i, w := range replicas {
		m := moving[i%len(moving)]
		w.API(t).do("PUT", "/v2/scale/moving/manifests/latest", hdr{"Content-Type", ociManifest}, m.Bytes).expect(t, http.StatusCreated)
		for _, r := range replicas {
			resp := r.API(t).do("GET", "/v2/scale/moving/manifests/latest", hdr{"Accept", ociManifest}, nil).expect(t, http.StatusOK)
			if got := resp.Header.Get("Docker-Content-Digest"); got != m.Digest {
				t.Errorf("tag moved to %s on %s; %s still serves %s", m.Digest, w.Host, r.Host, got)
			}
		}
		last = m.Digest
	}
	return last
}
