//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestServe covers the process itself: configuration through REGISTRY_*
// variables alone, the health and version endpoints, a clean exit on
// SIGTERM and content surviving a restart.
func TestServe(t *testing.T) {
	t.Parallel()

	t.Run("configured by environment only", func(t *testing.T) {
		if target(t) != Berth {
			t.Skip("REGISTRY_* without a config file is Berth's default-config path")
		}
		st := storageUnderTest(t)
		if st.Root == "" {
			t.Skip("needs filesystem storage")
		}
		reg := startRegistry(t, Berth, st, startOptions{envOnly: true})
		d := push(t, reg.Ref("serve/env:v1"), ociImage(t, 1024, 1))
		expectServed(t, reg.Ref("serve/env:v1"), d)
		if _, err := os.Stat(filepath.Join(st.Root, "docker", "registry", "v2", "repositories", "serve", "env")); err != nil {
			t.Errorf("content did not land in REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: %v", err)
		}
		reg.API(t).do("DELETE", "/v2/serve/env/manifests/"+d.String(), nil, nil).expect(t, http.StatusAccepted)
	})

	t.Run("health and version endpoints", func(t *testing.T) {
		reg := startTarget(t)
		a := reg.API(t)
		v2 := a.do("GET", "/v2/", nil, nil).expect(t, http.StatusOK)
		if got := v2.Header.Get("Docker-Distribution-Api-Version"); got != "registry/2.0" {
			t.Errorf("Docker-Distribution-Api-Version %q, want registry/2.0", got)
		}
		if reg.Flavor == Berth {
			a.do("GET", "/healthz", nil, nil).expect(t, http.StatusOK)
		}
		a.do("GET", "/v2/_nope/x/y", nil, nil).expect(t, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed)
	})

	t.Run("restart keeps content and exits cleanly", func(t *testing.T) {
		st := storageUnderTest(t)
		reg := startRegistry(t, target(t), st, startOptions{})
		f := pushFixture(t, reg)
		reg.Stop(t)
		if reg.Flavor == Berth {
			if code := reg.cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("exit status %d after SIGTERM, want 0", code)
			}
		}
		f.verify(t, startRegistry(t, target(t), st, startOptions{}))
	})
}
