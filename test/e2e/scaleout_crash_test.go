//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/s3test"
)

// gatedReader yields data but stops at stopAt until gate closes, telling
// reached when it gets there: a client caught in the middle of a body.
type gatedReader struct {
	data    []byte
	off     int
	stopAt  int
	reached chan<- struct{}
	gate    <-chan struct{}
	passed  bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.off == g.stopAt && !g.passed {
		g.reached <- struct{}{}
		<-g.gate
		g.passed = true
	}
	if g.off == len(g.data) {
		return 0, io.EOF
	}
	end := len(g.data)
	if !g.passed {
		end = g.stopAt
	}
	n := copy(p, g.data[g.off:end])
	g.off += n
	return n, nil
}

// crashUpload is one chunked upload through the proxy that a SIGKILL
// interrupts: PATCH 1 goes whole, PATCH 2 stops midway until the gate
// opens.
type crashUpload struct {
	c       *rawClient
	repo    string
	blob    blobData
	first   int  // size of PATCH 1
	stopAt  int  // PATCH 2 stalls after this many bytes of the blob
	abandon bool // give up after the kill instead of resuming
	detours int  // GETs of the status before PATCH 2, to land it elsewhere
	put     bool // send the rest as the closing PUT instead of PATCH 2

	loc     string // the last Location
	outcome string // "uninterrupted", "resumed at N", "abandoned", "failed: ..."
}

// run drives the upload; it returns an error only for what the registry
// must never do (a wrong Range, a hang, a digest that does not verify).
func (u *crashUpload) run(reached chan<- struct{}, gate <-chan struct{}) error {
	loc, err := u.c.start(u.repo)
	if err != nil {
		return err
	}
	if u.first > 0 {
		if loc, err = u.c.patch(loc, u.blob.Bytes, 0, u.first); err != nil {
			return err
		}
	}
	for range u.detours {
		if _, err := u.c.call("GET", loc, nil, nil, http.StatusNoContent); err != nil {
			return err
		}
	}
	u.loc = loc
	body := &gatedReader{data: u.blob.Bytes[u.first:], stopAt: u.stopAt - u.first, reached: reached, gate: gate}
	method, target, h := "PATCH", loc, hdr{
		"Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", u.first, len(u.blob.Bytes)-1),
	}
	if u.put {
		method, h = "PUT", h[:2]
		if target, err = setQuery(loc, "digest", u.blob.Digest); err != nil {
			return err
		}
	}
	resp, err := u.c.sendReader(method, target, h, body, int64(len(body.data)))
	switch {
	case err == nil && u.put && resp.Status == http.StatusCreated:
		u.outcome = "uninterrupted"
		return nil
	case err == nil && !u.put && resp.Status == http.StatusAccepted:
		u.outcome = "uninterrupted"
		return u.c.finish(resp.Header.Get("Location"), u.blob, nil)
	case err == nil && resp.Status < 500:
		return fmt.Errorf("%s cut short by the kill answered:\n%s", method, resp)
	}
	if u.abandon {
		u.outcome = "abandoned"
		return nil
	}
	return u.resume()
}

// resume asks where the upload stands and sends the rest from there.
func (u *crashUpload) resume() error {
	resp, err := u.c.send("GET", u.loc, nil, nil)
	if err != nil {
		return err
	}
	if resp.Status != http.StatusNoContent {
		return u.failed(resp)
	}
	rng := resp.Header.Get("Range")
	_, last, ok := strings.Cut(rng, "-")
	end, err := strconv.Atoi(last)
	off := end + 1
	if rng == "0-0" { // empty (or one byte, which no chunk here leaves)
		off = 0
	}
	if !ok || err != nil || off < u.first || off > u.stopAt {
		return fmt.Errorf("upload status after the kill: Range %q; %d bytes were acknowledged, %d sent:\n%s", rng, u.first, u.stopAt, resp)
	}
	loc, err := u.c.patch(resp.Header.Get("Location"), u.blob.Bytes, off, len(u.blob.Bytes))
	if err != nil {
		return err
	}
	u.outcome = fmt.Sprintf("resumed at %d", off)
	return u.c.finish(loc, u.blob, nil)
}

// failed accepts a clean refusal (an OCI error envelope) as the upload's
// end, and anything else as an error.
func (u *crashUpload) failed(resp *response) error {
	if resp.Status >= 400 && len(resp.codes()) > 0 {
		u.outcome = "failed: " + outcome(resp)
		return nil
	}
	return fmt.Errorf("upload status after the kill is no status and no OCI error:\n%s", resp)
}

// TestScaleOutSIGKILL kills one of three replicas on one S3 bucket with
// SIGKILL while it receives the PATCHes of several chunked uploads. Each
// upload then resumes on another replica from the Range it reports, or
// fails with an OCI error; content pushed before stays whole; no blob is
// served that does not match its digest, and an upload left behind is not
// served. The replica, started again, serves the same, and purges the
// abandoned upload and its S3 multipart upload.
func TestScaleOutSIGKILL(t *testing.T) {
	t.Parallel()
	st := TempS3(t)
	bucket := s3Bucket(t, st)
	replicas := startReplicas(t, st, 3, startOptions{})
	p := newRoundRobin(t, replicas)

	// Content from before the kill.
	push(t, p.Ref("crash/before:v1"), ociImage(t, 1<<20, 2))
	push(t, p.Ref("crash/before:multi"), multiArch(t, "linux/amd64", "linux/arm64/v8"))
	earlier := newRawManifest(t, newBlob(t, 7<<20+3))
	pre := newRawClient(p.URL("/"), "before")
	for _, err := range []error{
		pre.chunked("crash/raw", earlier.Layers[0], 3<<20, 3<<20),
		pre.monolithic("crash/raw", earlier.Config),
		pre.putManifest("crash/raw", "v1", earlier),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	before := stateOf(t, replicas[0])

	// Six uploads, caught in the middle of a body. Each route key's
	// requests go to replicas 0, 1, 2...: three second PATCHes, a first
	// PATCH (of an upload whose first S3 part the victim has sent but
	// recorded nowhere) and a closing PUT land on replica 2, the victim; a
	// detour sends the fourth upload's PATCH to replica 0, a survivor.
	const victim = 2
	uploads := make([]*crashUpload, 6)
	for i := range uploads {
		uploads[i] = &crashUpload{
			c:    newRawClient(p.URL("/"), fmt.Sprintf("crash-%d", i)),
			repo: fmt.Sprintf("crash/upload-%d", i), blob: newBlob(t, 16<<20+i),
			first: 6 << 20, stopAt: 13 << 20, abandon: i == 0, put: i == 4,
		}
		switch i {
		case 3:
			uploads[i].detours = 1
		case 5:
			uploads[i].first, uploads[i].detours = 0, 1
		}
		uploads[i].c.c.Timeout = time.Minute
	}
	reached, gate := make(chan struct{}), make(chan struct{})
	var w workers
	var once sync.Once
	defer once.Do(func() { close(gate) })
	for i, u := range uploads {
		w.spawn(fmt.Sprintf("upload %d", i), func() error { return u.run(reached, gate) })
	}
	for range uploads {
		select {
		case <-reached:
		case <-time.After(time.Minute):
			t.Fatal("the uploads did not all reach the middle of PATCH 2 within a minute")
		}
	}
	time.Sleep(300 * time.Millisecond) // let the bytes sent reach the replicas
	t.Logf("S3 multipart uploads at the kill: %v", multipartUploads(t, bucket))
	replicas[victim].cmd.Process.Kill()
	<-replicas[victim].done
	p.setDown(victim, true, "")
	for _, u := range uploads { // nothing of an unfinished upload is served
		for _, r := range replicas[:victim] {
			r.API(t).do("HEAD", "/v2/"+u.repo+"/blobs/"+u.blob.Digest, nil, nil).expect(t, http.StatusNotFound)
		}
	}
	once.Do(func() { close(gate) })
	w.wait(t)
	for i, u := range uploads {
		t.Logf("upload %d: %s", i, u.outcome)
	}
	cut := map[string]int{}
	for _, r := range p.routes("*") {
		if r.Replica == victim && r.Status == http.StatusBadGateway {
			cut[r.Method]++
		}
	}
	if cut["PATCH"] != 4 || cut["PUT"] != 1 || len(cut) != 2 {
		t.Errorf("the kill cut short %v, want 4 PATCHes and 1 PUT", cut)
	}
	// Finished uploads leave no S3 multipart upload behind, not even the
	// one the victim began for a first PATCH and recorded nowhere.
	if ups := multipartUploads(t, bucket); len(ups) != 1 {
		t.Errorf("%d S3 multipart uploads in the bucket after the uploads, want 1 (the abandoned one): %v", len(ups), ups)
	}

	survivors := []*Registry{replicas[0], replicas[1]}
	var blobs []string
	expected := maps.Clone(before)
	for _, u := range uploads {
		key := u.repo + "@" + u.blob.Digest
		blobs = append(blobs, key)
		expected[key] = "404 BLOB_UNKNOWN"
		if u.outcome == "uninterrupted" || strings.HasPrefix(u.outcome, "resumed") {
			expected[key] = sizeString(len(u.blob.Bytes))
		}
	}
	delete(expected, "catalog") // the uploads' repositories may join it
	states := statesOf(t, survivors, blobs...)
	for _, repo := range strings.Split(before["catalog"], ",") {
		if !strings.Contains(","+states[0]["catalog"]+",", ","+repo+",") {
			t.Errorf("%s left the catalog: %s", repo, states[0]["catalog"])
		}
	}
	sameStates(t, survivors, states)
	expectState(t, states[0], expected)

	// The victim, started again, serves the same and purges what was
	// left behind: the abandoned session and its S3 multipart upload.
	purging := st
	purging.Config = map[string]any{"maintenance": map[string]any{"uploadpurging": map[string]any{
		"enabled": true, "age": "1s", "interval": "1s", "dryrun": false}}}
	maps.Copy(purging.Config, st.Config)
	again := startRegistry(t, Berth, purging, startOptions{})
	p.setDown(victim, false, again.Host)
	sameStates(t, []*Registry{replicas[0], again}, []replicaState{states[0], stateOf(t, again, blobs...)})
	abandoned := uploads[0]
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := again.API(t).do("GET", abandoned.loc, nil, nil)
		ups, keys := multipartUploads(t, bucket), uploadKeys(t, bucket)
		if resp.Status == http.StatusNotFound && len(ups) == 0 && len(keys) == 0 {
			resp.expectError(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after a restart with uploadpurging age 1s: the abandoned upload answers %d, "+
				"%d S3 multipart uploads %v and upload keys %v remain", resp.Status, len(ups), ups, keys)
		}
		time.Sleep(200 * time.Millisecond)
	}
	abandonedKey := abandoned.repo + "@" + abandoned.blob.Digest
	for _, r := range append(survivors, again) {
		if got := stateOf(t, r, abandonedKey)[abandonedKey]; got != "404 BLOB_UNKNOWN" {
			t.Errorf("%s: abandoned blob %s after the purge: %s", r.Host, abandonedKey, got)
		}
	}
}

// uploadKeys are the keys of upload sessions in the bucket.
func uploadKeys(t testing.TB, b s3test.Bucket) []string {
	t.Helper()
	var out []string
	for _, k := range bucketKeys(t, b) {
		if strings.Contains(k, "/_uploads/") {
			out = append(out, k)
		}
	}
	return out
}
