package credstore_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth/credstore"
)

// newStore returns a Store over dir, failing the test on error.
func newStore(t *testing.T, dir string, opts ...credstore.Option) *credstore.Store {
	t.Helper()
	s, err := credstore.New(dir, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	return s
}

// writeConfig writes config.json in dir with mode 0600.
func writeConfig(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readConfig returns the top-level fields of dir's config.json.
func readConfig(t *testing.T, dir string) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("config.json is not JSON: %v\n%s", err, data)
	}
	return m
}

// readAuths returns the "auths" of dir's config.json.
func readAuths(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	var auths map[string]map[string]string
	if raw, ok := readConfig(t, dir)["auths"]; ok {
		if err := json.Unmarshal(raw, &auths); err != nil {
			t.Fatalf("auths: %v", err)
		}
	}
	return auths
}

// compact returns raw JSON without insignificant white space.
func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatalf("compact %s: %v", raw, err)
	}
	return buf.String()
}

// fakeHelperScript is a docker-credential-* program speaking the helper
// protocol. It keeps each credential as the JSON it was given in
// STORE/<hex of the server URL>.json and logs "action server-url" lines to
// STORE/calls.log.
const fakeHelperScript = `#!/bin/sh
store='STORE'
key() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }
case "$1" in
store)
	in=$(cat)
	url=$(printf %s "$in" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')
	echo "store $url" >>"$store/calls.log"
	[ -n "$url" ] || { echo "no credentials server URL"; exit 1; }
	printf %s "$in" >"$store/$(key "$url").json"
	;;
get|erase)
	url=$(cat)
	echo "$1 $url" >>"$store/calls.log"
	f="$store/$(key "$url").json"
	[ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }
	if [ "$1" = get ]; then cat "$f"; else rm "$f"; fi
	;;
list)
	echo '{}'
	;;
*)
	echo "unknown action $1" >&2
	exit 1
	;;
esac
`

// fakeHelper is a docker-credential-<name> installed for a test.
type fakeHelper struct {
	bin   string // directory holding the program, for WithHelperPath
	store string // where it keeps credentials
}

// installHelper writes docker-credential-<name> running script (with STORE
// replaced by a fresh directory) into a fresh directory.
func installHelper(t *testing.T, name, script string) fakeHelper {
	t.Helper()
	h := fakeHelper{bin: t.TempDir(), store: t.TempDir()}
	script = strings.ReplaceAll(script, "STORE", h.store)
	// The program is written by a child process, never through a file
	// descriptor of this one: a parallel test forking while such a
	// descriptor is open would carry it into its child until exec, and
	// running the program then fails with ETXTBSY ("text file busy").
	src := filepath.Join(h.store, "script")
	if err := os.WriteFile(src, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(h.bin, "docker-credential-"+name)
	if out, err := exec.Command("install", "-m", "0755", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("install helper: %v: %s", err, out)
	}
	return h
}

// entries returns what the helper holds, by server URL.
func (h fakeHelper) entries(t *testing.T) map[string]map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(h.store, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]string
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[c["ServerURL"]] = c
	}
	return out
}

// calls returns the helper's call log lines.
func (h fakeHelper) calls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.store, "calls.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}
