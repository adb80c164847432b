package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/s3test"
	"github.com/berthhq/berth/registry"
	"github.com/berthhq/berth/registry/config"
	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
)

// s3Env returns the REGISTRY_* variables that put the built-in
// configuration on bucket b.
func s3Env(b s3test.Bucket, bucket string) []string {
	return []string{
		"REGISTRY_STORAGE=s3",
		"REGISTRY_STORAGE_S3_BUCKET=" + bucket,
		"REGISTRY_STORAGE_S3_REGIONENDPOINT=" + b.Endpoint,
		"REGISTRY_STORAGE_S3_REGION=" + s3test.Region,
		"REGISTRY_STORAGE_S3_ACCESSKEY=" + s3test.AccessKey,
		"REGISTRY_STORAGE_S3_SECRETKEY=" + s3test.SecretKey,
		"REGISTRY_STORAGE_S3_FORCEPATHSTYLE=true",
		"REGISTRY_STORAGE_S3_ROOTDIRECTORY=/registry",
		"REGISTRY_HTTP_ADDR=127.0.0.1:0",
	}
}

// startBinary starts `registry serve` with env (and json logs) and returns
// the process, its log records and the storage and listening records.
func startBinary(t *testing.T, env []string) (cmd *exec.Cmd, logs chan map[string]any, storageRec, listening map[string]any) {
	t.Helper()
	cmd = exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(env, "REGISTRY_LOG_FORMATTER=json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs = make(chan map[string]any, 100)
	go func() {
		defer close(logs)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				rec = map[string]any{"msg": "unparsed", "line": sc.Text()}
			}
			logs <- rec
		}
	}()
	storageRec = waitFor(t, logs, "storage")
	listening = waitFor(t, logs, "listening")
	return cmd, logs, storageRec, listening
}

// TestBinaryServeS3 runs `registry serve` configured for S3 from the
// environment alone, pushes a blob and pulls it back, streamed by default
// and redirected to S3 with REGISTRY_STORAGE_S3_REDIRECT=true.
func TestBinaryServeS3(t *testing.T) {
	b := s3test.New(t)
	cmd, logs, st, listening := startBinary(t, s3Env(b, b.Name))
	if st["driver"] != "s3" || st["bucket"] != b.Name || st["endpoint"] != b.Endpoint {
		t.Errorf("storage log record %v, want driver s3, bucket %q, endpoint %q", st, b.Name, b.Endpoint)
	}
	for k, v := range st {
		if s, ok := v.(string); ok && strings.Contains(s, s3test.SecretKey) {
			t.Errorf("storage log record shows the secret key in %s", k)
		}
	}
	if listening["storage"] != "s3" || listening["redirect"] != false {
		t.Errorf("listening record %v, want storage s3, redirect false", listening)
	}
	base := "http://" + listening["addr"].(string)

	blob := randomBytes(t, 3<<20)
	d := pushBlob(t, base, "team/app", blob)
	resp := noRedirect(t, base+"/v2/team/app/blobs/"+d.String())
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET blob without redirect: %s, want 200", resp.Status)
	}
	if got := getBlob(t, base, "team/app", d); !bytes.Equal(got, blob) {
		t.Errorf("GET blob: %d bytes differ from the %d pushed", len(got), len(blob))
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, logs, "stopped")
	for range logs {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit status 0", err)
	}

	// The same bucket served by another process, now redirecting.
	_, _, _, listening = startBinary(t, append(s3Env(b, b.Name), "REGISTRY_STORAGE_S3_REDIRECT=true"))
	if listening["redirect"] != true {
		t.Errorf("listening record %v, want redirect true", listening)
	}
	base = "http://" + listening["addr"].(string)
	resp = noRedirect(t, base+"/v2/team/app/blobs/"+d.String())
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, b.Endpoint+"/") {
		t.Errorf("GET blob with redirect: %s, Location %q; want 307 to %s", resp.Status, loc, b.Endpoint)
	}
	if got := getBlob(t, base, "team/app", d); !bytes.Equal(got, blob) {
		t.Errorf("GET blob through the redirect: %d bytes differ from the %d pushed", len(got), len(blob))
	}
}

// noRedirect GETs url without following redirects.
func noRedirect(t *testing.T, url string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestServeS3Unusable checks that the registry refuses to start, with one
// line naming the bucket and the endpoint, when the bucket is missing or
// S3 cannot be reached.
func TestServeS3Unusable(t *testing.T) {
	b := s3test.New(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name     string
		env      []string
		bucket   string
		endpoint string
	}{
		{"missing bucket", s3Env(b, "no-such-bucket"), "no-such-bucket", b.Endpoint},
		{"wrong credentials", append(s3Env(b, b.Name), "REGISTRY_STORAGE_S3_SECRETKEY=wrong"), b.Name, b.Endpoint},
		{"unreachable endpoint", append(s3Env(b, b.Name), "REGISTRY_STORAGE_S3_REGIONENDPOINT="+closedURL), b.Name, closedURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			code, _, stderr := runCLI(t, tt.env, "serve")
			stderr = strings.ReplaceAll(stderr, `\"`, `"`) // the text log format quotes the error
			if code != exitError {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			if elapsed := time.Since(start); elapsed > s3CheckTimeout {
				t.Errorf("took %v to fail", elapsed)
			}
			want := `storage.s3: cannot use bucket "` + tt.bucket + `" at ` + tt.endpoint
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr %q\ndoes not contain %q", stderr, want)
			}
			if strings.Contains(stderr, "listening") {
				t.Errorf("the registry started serving:\n%s", stderr)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("stderr has %d lines, want one:\n%s", n+1, stderr)
			}
		})
	}
}

// TestPurgeUploadsS3 checks that upload purging, as serve schedules it,
// removes an abandoned upload on S3 storage.
func TestPurgeUploadsS3(t *testing.T) {
	b := s3test.New(t)
	cfg, _, err := readConfig("", s3Env(b, b.Name))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := newDriver(ctx, cfg.Storage, discard())
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.New(d)
	if err != nil {
		t.Fatal(err)
	}
	h, err := registry.New(store)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// An upload abandoned after one chunk larger than an S3 part, so that
	// the driver has a multipart upload in progress.
	resp := do(t, http.MethodPost, srv.URL+"/v2/a/blobs/uploads/", nil)
	loc := resp.Header.Get("Location")
	resp = do(t, http.MethodPatch, srv.URL+loc, randomBytes(t, 12<<20))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH: %s", resp.Status)
	}
	loc = resp.Header.Get("Location")

	pctx, cancel := context.WithCancel(ctx)
	purged := make(chan int, 1)
	purge := func(ctx context.Context, olderThan time.Time, dryRun bool) (int, error) {
		defer cancel()
		n, err := store.PurgeUploads(ctx, time.Now().Add(time.Hour), dryRun)
		purged <- n
		return n, err
	}
	purgeUploads(pctx, purge, config.UploadPurging{Enabled: true, Age: time.Hour, Interval: time.Hour}, 0, discard())
	if n := <-purged; n != 1 {
		t.Errorf("purged %d uploads, want 1", n)
	}
	resp = do(t, http.MethodGet, srv.URL+loc, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of the purged upload: %s, want 404", resp.Status)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// do sends a request and returns the response with its body read and
// closed.
func do(t *testing.T, method, url string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// pushBlob uploads blob monolithically (POST then PUT) and returns its
// digest.
func pushBlob(t *testing.T, base, repo string, blob []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(blob)
	resp := do(t, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	if !strings.HasPrefix(loc, "http") {
		loc = base + loc
	}
	resp = do(t, http.MethodPut, loc+sep+"digest="+d.String(), blob)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT upload: %s", resp.Status)
	}
	return d
}

func getBlob(t *testing.T, base, repo string, d digest.Digest) []byte {
	t.Helper()
	resp, err := http.Get(base + "/v2/" + repo + "/blobs/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET blob: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
