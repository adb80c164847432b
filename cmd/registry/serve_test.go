package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/registry/config"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startServer serves h on a loopback port with runServer until the
// returned cancel is called; wait returns runServer's result.
func startServer(t *testing.T, srv *http.Server, drain time.Duration) (addr string, cancel func(), wait func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, srv, ln, drain, discard()) }()
	t.Cleanup(func() { cancel(); <-done })
	var result error
	waited := false
	return ln.Addr().String(), cancel, func() error {
		if !waited {
			result, waited = <-done, true
			done <- result
		}
		return result
	}
}

// TestRunServerDrains checks that a request in flight when the server is
// told to stop still gets its whole response, and that stopping is clean.
func TestRunServerDrains(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	srv, err := newServer(config.HTTP{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}), discard())
	if err != nil {
		t.Fatal(err)
	}
	addr, cancel, wait := startServer(t, srv, 30*time.Second)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel()
	// Shutdown closes the listener first: new connections are refused
	// while the request above is still running.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted 5s after shutdown began")
		}
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request: %q, %v; want finished", r.body, r.err)
	}
	if err := wait(); err != nil {
		t.Errorf("runServer: %v", err)
	}
}

// TestRunServerDrainTimeout checks that a request outliving the drain
// timeout is cut off and the stop is still clean.
func TestRunServerDrainTimeout(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	srv, err := newServer(config.HTTP{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}), discard())
	if err != nil {
		t.Fatal(err)
	}
	addr, cancel, wait := startServer(t, srv, 100*time.Millisecond)
	go http.Get("http://" + addr + "/stuck")
	<-started
	cancel()
	if err := wait(); err != nil {
		t.Errorf("runServer: %v", err)
	}
}

func TestWithHeaders(t *testing.T) {
	h := withHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
	}), http.Header{"X-Content-Type-Options": {"nosniff"}, "Content-Type": {"overridden"}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/", nil))
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/plain" {
		t.Errorf("Content-Type = %q; the handler's own headers must win", got)
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(config.Log{Level: "warn", Formatter: "json", Fields: map[string]string{"service": "registry"}}, &buf)
	log.Info("hidden")
	log.Warn("shown")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want one JSON record, got %q: %v", buf.String(), err)
	}
	if rec["msg"] != "shown" || rec["service"] != "registry" {
		t.Errorf("record = %v", rec)
	}

	buf.Reset()
	newLogger(config.Log{Level: "debug", Formatter: "text"}, &buf).Debug("visible")
	if !strings.Contains(buf.String(), "msg=visible") {
		t.Errorf("text record = %q", buf.String())
	}
}

func TestServeTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := config.HTTP{TLS: config.TLS{Certificate: certFile, Key: keyFile, MinimumTLS: "tls1.3"}}
	srv, err := newServer(cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}), discard())
	if err != nil {
		t.Fatal(err)
	}
	addr, _, _ := startServer(t, srv, time.Second)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Errorf("TLS state %+v, want TLS 1.3", resp.TLS)
	}

	if _, err := newServer(config.HTTP{TLS: config.TLS{Certificate: keyFile, Key: certFile}}, nil, discard()); err == nil ||
		!strings.HasPrefix(err.Error(), "http.tls:") {
		t.Errorf("swapped certificate and key: %v, want an http.tls error", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "registry test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestPurgeUploads(t *testing.T) {
	type call struct {
		olderThan time.Time
		dryRun    bool
	}
	calls := make(chan call, 10)
	purge := func(ctx context.Context, olderThan time.Time, dryRun bool) (int, error) {
		calls <- call{olderThan, dryRun}
		return 1, nil
	}
	cfg := config.UploadPurging{Enabled: true, Age: time.Hour, Interval: 10 * time.Millisecond, DryRun: true}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		purgeUploads(ctx, purge, cfg, 0, discard())
	}()
	for i := range 3 {
		select {
		case c := <-calls:
			if !c.dryRun || c.olderThan.Before(start.Add(-cfg.Age)) || c.olderThan.After(time.Now().Add(-cfg.Age)) {
				t.Errorf("call %d: %+v, want dry run of uploads older than %v", i, c, cfg.Age)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("purge called %d times in 5s, want 3", i)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("purgeUploads did not return after its context ended")
	}
	if j := purgeJitter(time.Minute); j < 0 || j >= time.Minute {
		t.Errorf("purgeJitter(1m) = %v", j)
	}
}
