package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/opencontainers/go-digest"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		size          int64
		image, stream string
	}{
		{0, "0B", "0B"},
		{512, "512B", "512B"},
		{4_261_000, "4.26MB", "4.261MB"},
		{7_800_000, "7.8MB", "7.8MB"},
		{123_456_789, "123MB", "123.5MB"},
		{1_500_000_000, "1.5GB", "1.5GB"},
		{999, "999B", "999B"},
		{1000, "1kB", "1kB"},
	}
	for _, tt := range tests {
		if got := imageSize(tt.size); got != tt.image {
			t.Errorf("imageSize(%d) = %q, want %q", tt.size, got, tt.image)
		}
		if got := transferSize(tt.size); got != tt.stream {
			t.Errorf("transferSize(%d) = %q, want %q", tt.size, got, tt.stream)
		}
	}
}

func TestCreatedSince(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{500 * time.Millisecond, "Less than a second ago"},
		{time.Second, "1 second ago"},
		{30 * time.Second, "30 seconds ago"},
		{90 * time.Second, "About a minute ago"},
		{45 * time.Minute, "45 minutes ago"},
		{70 * time.Minute, "About an hour ago"},
		{2 * time.Hour, "2 hours ago"},
		{47 * time.Hour, "47 hours ago"},
		{3 * 24 * time.Hour, "3 days ago"},
		{3 * 7 * 24 * time.Hour, "3 weeks ago"},
		{90 * 24 * time.Hour, "3 months ago"},
		{3 * 365 * 24 * time.Hour, "3 years ago"},
	}
	for _, tt := range tests {
		if got := createdSince(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("createdSince(-%v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := createdSince(time.Time{}, now); got != "N/A" {
		t.Errorf("zero time: %q", got)
	}
}

func TestProgressLine(t *testing.T) {
	d := digest.FromString("layer")
	id := image.ShortID(d)
	tests := []struct {
		name  string
		ev    image.Event
		width int
		want  string
	}{
		{"step", image.Event{ID: id, Status: image.StatusPullComplete}, 120, id + ": Pull complete"},
		{"bar", image.Event{ID: id, Status: image.StatusDownloading, Current: 12_340_000, Total: 45_600_000}, 120,
			id + ": Downloading [=============>                                     ]  12.34MB/45.6MB"},
		{"narrow", image.Event{ID: id, Status: image.StatusPushing, Current: 1, Total: 2}, 40,
			id + ": Pushing       1B/2B"},
		{"cut", image.Event{ID: id, Status: image.StatusVerifying}, 10, id[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := progressLine(tt.ev, tt.width); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		mirrors map[string][]string
		regs    map[string]registryConfig
		wantErr string
	}{
		{"empty", "", map[string][]string{}, map[string]registryConfig{}, ""},
		{"hub aliases", "mirrors:\n  index.docker.io: [mirror.internal:5000, \"https://m2.internal/\"]\nregistries:\n  mirror.internal:5000: {insecure: true}\n",
			map[string][]string{"docker.io": {"mirror.internal:5000", "m2.internal"}},
			map[string]registryConfig{"mirror.internal:5000": {Insecure: true}}, ""},
		{"unknown key", "mirors: {}\n", nil, nil, "field mirors not found"},
		{"unknown registry key", "registries:\n  a.io: {secure: true}\n", nil, nil, "field secure not found"},
		{"bad mirror", "mirrors:\n  docker.io: [\"not a host\"]\n", nil, nil, "mirrors.docker.io[0]: invalid registry host"},
		{"bad registry", "registries:\n  \"a b\": {insecure: true}\n", nil, nil, "registries: invalid registry host"},
		{"not yaml", "mirrors: [", nil, nil, "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := loadConfig(p, true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Mirrors) != len(tt.mirrors) || len(c.Registries) != len(tt.regs) {
				t.Fatalf("got %+v", c)
			}
			for k, v := range tt.mirrors {
				if strings.Join(c.Mirrors[k], ",") != strings.Join(v, ",") {
					t.Errorf("mirrors[%s] = %v, want %v", k, c.Mirrors[k], v)
				}
			}
			for k, v := range tt.regs {
				if c.Registries[k] != v {
					t.Errorf("registries[%s] = %v, want %v", k, c.Registries[k], v)
				}
			}
		})
	}
	if _, err := loadConfig(filepath.Join(t.TempDir(), "none.yaml"), false); err != nil {
		t.Errorf("missing optional config: %v", err)
	}
}

func TestDefaultRoot(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		vars map[string]string
		euid int
		want string
	}{
		{"root", map[string]string{"XDG_DATA_HOME": "/x"}, 0, "/var/lib/ctl"},
		{"xdg", map[string]string{"XDG_DATA_HOME": "/x"}, 1000, "/x/ctl"},
		{"home", nil, 1000, "/home/u/.local/share/ctl"},
	}
	for _, tt := range tests {
		if got, err := defaultRoot(env(tt.vars), "/home/u", tt.euid); err != nil || got != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := defaultRoot(env(nil), "", 1000); err == nil {
		t.Error("no home: want an error")
	}
}

func TestPreferPlainHTTP(t *testing.T) {
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	tls := httptest.NewTLSServer(http.NotFoundHandler())
	defer tls.Close()
	ctx := context.Background()
	if got, err := preferPlainHTTP(ctx, strings.TrimPrefix(plain.URL, "http://")); err != nil || !got {
		t.Errorf("plain server: %v %v, want plain HTTP", got, err)
	}
	if got, err := preferPlainHTTP(ctx, strings.TrimPrefix(tls.URL, "https://")); err != nil || got {
		t.Errorf("TLS server with a self-signed certificate: %v %v, want HTTPS", got, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := preferPlainHTTP(cancelled, strings.TrimPrefix(plain.URL, "http://")); err == nil {
		t.Error("cancelled: want an error")
	}
}

func TestBarProgress(t *testing.T) {
	var buf strings.Builder
	p := newBarProgress(&buf, 120)
	a, b := digest.FromString("a"), digest.FromString("b")
	p.event(image.Event{ID: image.ShortID(a), Digest: a, Status: image.StatusDownloading, Current: 10, Total: 100})
	p.event(image.Event{ID: image.ShortID(b), Digest: b, Status: image.StatusAlreadyExists, Total: 5})
	p.event(image.Event{ID: image.ShortID(a), Digest: a, Status: image.StatusPullComplete, Total: 100})
	p.done()
	out := buf.String()
	for _, want := range []string{image.ShortID(a) + ": Pull complete\n", image.ShortID(b) + ": Already exists\n"} {
		if !strings.HasSuffix(out, want) && !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	if i, j := strings.LastIndex(out, image.ShortID(a)+": Pull complete"), strings.LastIndex(out, image.ShortID(b)); i > j {
		t.Errorf("layers out of order:\n%s", out)
	}
}
