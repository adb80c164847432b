//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// bigImage is an image of one layer of several MiB, pushed to repoTag:
// the image, its layer's digest and compressed size.
func bigImage(t testing.TB, m ctlMode, repoTag string) (v1.Image, v1.Hash, int64) {
	t.Helper()
	img := dockerImage(t, 6<<20, 1)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	size, err := layers[0].Size()
	if err != nil {
		t.Fatal(err)
	}
	m.put(t, repoTag, img)
	return img, d, size
}

// expectResumed fails unless the proxy saw blob d fetched twice: the
// first GET broke off after cut body bytes, the second asked for the rest
// with a Range request from where the store's partial download ended
// (at most cut), and the registry sent about the blob's size in all. The
// bytes counted are those that reached ctl; the registry's log of the
// first GET counts what it wrote, which includes what socket buffers took
// in before the cut, so only its status is checked.
func expectResumed(t testing.TB, p *faultProxy, d v1.Hash, size, cut int64) {
	t.Helper()
	gets := p.blobGets(d.String())
	if len(gets) != 2 {
		t.Fatalf("%d GETs of the layer through the proxy, want 2 (cut, resumed): %+v", len(gets), gets)
	}
	if gets[0].Range != "" || !gets[0].Faulted || gets[0].Body != cut {
		t.Errorf("first GET %+v: want no Range, broken off after %d bytes", gets[0], cut)
	}
	var from int64
	if _, err := fmt.Sscanf(gets[1].Range, "bytes=%d-", &from); err != nil || from <= 0 || from > cut ||
		gets[1].Range != fmt.Sprintf("bytes=%d-", from) {
		t.Fatalf("second GET asked for Range %q; want \"bytes=N-\" with 0 < N <= %d", gets[1].Range, cut)
	}
	if gets[1].Body != size-from {
		t.Errorf("resumed GET from %d got %d body bytes, want the rest, %d", from, gets[1].Body, size-from)
	}
	if r := p.reg; r.Flavor == Berth {
		// The registry's own account: a 200, then a 206 of the rest.
		got := servedBlob(r, d)
		if len(got) != 2 || !strings.HasPrefix(got[0], "200 ") || got[1] != fmt.Sprintf("206 %d", size-from) {
			t.Errorf("the registry logged GETs of the layer as %q; want a 200, then \"206 %d\"", got, size-from)
		}
		t.Logf("registry log of the layer's GETs (status, bytes): %q", got)
	}
	total := gets[0].Body + gets[1].Body
	t.Logf("layer of %d bytes: %d sent, cut, then Range %s: %d more; %d in all", size, gets[0].Body, gets[1].Range, gets[1].Body, total)
	if total < size || total > size+(cut-from) || total > size+size/20 {
		t.Errorf("the registry sent %d bytes of a %d-byte layer across both attempts; want about its size", total, size)
	}
}

var accessLog = regexp.MustCompile(`method=GET path=(\S+) status=(\d+) bytes=(\d+)`)

// servedBlob is "STATUS BYTES" of each GET of blob d in the registry's
// access log.
func servedBlob(r *Registry, d v1.Hash) []string {
	var out []string
	for _, m := range accessLog.FindAllStringSubmatch(r.logs.String(), -1) {
		if strings.HasSuffix(m[1], "/blobs/"+d.String()) {
			out = append(out, m[2]+" "+m[3])
		}
	}
	return out
}

// expectBlob fails unless the store holds blob d, with content of that
// digest.
func expectBlob(t testing.TB, c *ctlEnv, d v1.Hash) {
	t.Helper()
	f, err := os.Open(filepath.Join(c.root, "content", "blobs", d.Algorithm, d.Hex))
	if err != nil {
		t.Fatalf("the store lacks the layer: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Hex {
		t.Errorf("stored layer %s holds content of digest sha256:%s", d, got)
	}
}

// TestCtlResume: a pull whose layer download breaks off mid-way fetches
// only the rest, with a Range request: within the same pull when the
// connection is cut, and in the next pull after ctl was interrupted
// (Ctrl-C) while the download hung.
func TestCtlResume(t *testing.T) {
	t.Parallel()
	ctlModes(t, func(t *testing.T, m ctlMode) {
		p := newFaultProxy(t, m.reg)
		workstation := func(t *testing.T) *ctlEnv {
			c := newCtl(t)
			if m.auth != nil {
				c.login(t, m.auth, p.Host, "alice")
			}
			return c
		}

		t.Run("connection cut, the pull resumes", func(t *testing.T) {
			t.Parallel()
			img, layer, size := bigImage(t, m, "alice/big-cut:v1")
			const cut = 2<<20 + 12345
			reached := p.inject(layer.String(), cutAfter, cut)
			c := workstation(t)
			name := p.Ref("alice/big-cut:v1")
			if got := c.pull(t, name); got != digestOf(t, img).String() {
				t.Errorf("ctl pull: digest %s, want %s", got, digestOf(t, img))
			}
			select {
			case <-reached:
			default:
				t.Fatal("the proxy never cut the layer download")
			}
			expectResumed(t, p, layer, size, cut)
			expectBlob(t, c, layer)
			cfg, _ := img.ConfigName()
			c.expectImage(t, name, cfg.String())
		})

		t.Run("interrupted, the next pull resumes", func(t *testing.T) {
			t.Parallel()
			img, layer, size := bigImage(t, m, "alice/big-stop:v1")
			const stall = 3<<20 + 777
			reached := p.inject(layer.String(), stallAfter, stall)
			c := workstation(t)
			name := p.Ref("alice/big-stop:v1")
			interruptPull(t, c, name, reached, partialPath(c, layer), stall)
			if got := c.images(t); len(got) != 0 {
				t.Errorf("an interrupted pull left images: %+v", got)
			}
			if got := c.pull(t, name); got != digestOf(t, img).String() {
				t.Errorf("ctl pull: digest %s, want %s", got, digestOf(t, img))
			}
			expectResumed(t, p, layer, size, stall)
			expectBlob(t, c, layer)
			if _, err := os.Stat(partialPath(c, layer)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("partial download left behind after the pull: %v", err)
			}
			cfg, _ := img.ConfigName()
			c.expectImage(t, name, cfg.String())
		})
	})
}

// partialPath is where the store keeps an unfinished download of d.
func partialPath(c *ctlEnv, d v1.Hash) string {
	return filepath.Join(c.root, "content", "ingest", d.Algorithm+"-"+d.Hex+".partial")
}

// interruptPull starts ctl pull name, waits until the proxy has stalled
// the download and the store's partial file holds what was sent (at most
// a few seconds), then interrupts ctl as Ctrl-C would: it must exit 130.
func interruptPull(t testing.TB, c *ctlEnv, name string, stalled <-chan struct{}, partial string, sent int64) {
	t.Helper()
	cmd := c.command(t, "", "pull", name)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-stalled:
	case err := <-exited:
		t.Fatalf("ctl pull ended (%v) before the proxy stalled the layer:\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the proxy did not stall the layer within 30s:\n%s", out.String())
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(partial); err == nil && fi.Size() >= sent {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("ctl pull did not exit within 15s of an interrupt:\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("interrupted ctl pull: %v, want exit status 130:\n%s", err, out.String())
	}
}
