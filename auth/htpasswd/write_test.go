package htpasswd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestCheckUser(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"alice@example.com", true},
		{"ci-bot_2.0", true},
		{"Zoë", true},
		{"", false},
		{strings.Repeat("a", MaxUserLen), true},
		{strings.Repeat("a", MaxUserLen+1), false},
		{"a:b", false},
		{"a b", false},
		{"a\tb", false},
		{"a\nb", false},
		{"a\x00b", false},
		{"a/b", false},
		{"*", false},
		{"${account}", false},
		{"anonymous", false},
		{"Anonymous", false},
		{"\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckUser(tt.name); (err == nil) != tt.ok {
				t.Errorf("CheckUser(%q) = %v, want ok %v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestAdd(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "htpasswd")
	mustAdd(t, path, "alice", "one")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", info.Mode().Perm())
	}

	// Hand-written lines are kept, in order; an MD5 entry can be replaced.
	md5 := "bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/"
	content := "# team\n" + md5 + "\n\n" + contents(t, path)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, path, "bob", "two")
	mustAdd(t, path, "carol", "three")
	mustAdd(t, path, "alice", "four")
	lines := strings.Split(strings.TrimSuffix(contents(t, path), "\n"), "\n")
	wantPrefix := []string{"# team", "bob:$2a$04$", "", "alice:$2a$04$", "carol:$2a$04$"}
	if len(lines) != len(wantPrefix) {
		t.Fatalf("file has lines %q, want %d lines", lines, len(wantPrefix))
	}
	for i, p := range wantPrefix {
		if !strings.HasPrefix(lines[i], p) || p == "" && lines[i] != "" {
			t.Errorf("line %d = %q, want prefix %q", i+1, lines[i], p)
		}
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("replaced file mode %v (%v), want 0640 (others' read dropped)", info.Mode().Perm(), err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for user, pw := range map[string]string{"alice": "four", "bob": "two", "carol": "three"} {
		if err := f.Authenticate(context.Background(), user, pw); err != nil {
			t.Errorf("Authenticate(%s): %v", user, err)
		}
	}
	assertNoTemp(t, dir)
}

func TestAddErrors(t *testing.T) {
	tests := []struct {
		name, user, password string
		cost                 int
		want                 string
	}{
		{"bad user", "a:b", "pw", bcrypt.MinCost, "holds ':'"},
		{"empty user", "", "pw", bcrypt.MinCost, "user name is empty"},
		{"empty password", "alice", "", bcrypt.MinCost, "empty password"},
		{"long password", "alice", strings.Repeat("x", 73), bcrypt.MinCost, "72 bytes"},
		{"low cost", "alice", "pw", 3, "bcrypt cost 3 is not between 4 and 31"},
		{"high cost", "alice", "pw", 32, "bcrypt cost 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "htpasswd")
			err := Add(path, tt.user, []byte(tt.password), tt.cost)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Add = %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Add failed but wrote the file (%v)", err)
			}
			assertNoTemp(t, dir)
		})
	}
	if err := Add(filepath.Join(t.TempDir(), "no", "dir"), "alice", []byte("pw"), bcrypt.MinCost); err == nil {
		t.Error("Add into a missing directory succeeded")
	}
}

func TestAddDefaultCost(t *testing.T) {
	if testing.Short() {
		t.Skip("bcrypt at the default cost")
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := Add(path, "alice", []byte("pw"), 0); err != nil {
		t.Fatal(err)
	}
	_, h, _ := strings.Cut(strings.TrimSpace(contents(t, path)), ":")
	if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != bcrypt.DefaultCost {
		t.Errorf("cost %d (%v), want %d", cost, err, bcrypt.DefaultCost)
	}
}

func TestAddThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	mustAdd(t, real, "alice", "one")
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Skip(err)
	}
	mustAdd(t, link, "bob", "two")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link replaced by a file (%v)", err)
	}
	if !strings.Contains(contents(t, real), "bob:") {
		t.Error("the linked file lacks the new user")
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "htpasswd")
	mustAdd(t, path, "alice", "one")
	mustAdd(t, path, "bob", "two")
	appendLine(t, path, "# kept")
	if err := Remove(path, "alice"); err != nil {
		t.Fatal(err)
	}
	got := contents(t, path)
	if strings.Contains(got, "alice:") || !strings.Contains(got, "bob:") || !strings.HasSuffix(got, "# kept\n") {
		t.Errorf("after Remove: %q", got)
	}
	if err := Remove(path, "alice"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("Remove(alice) again = %v, want ErrUnknownUser", err)
	}
	if err := Remove(filepath.Join(dir, "missing"), "bob"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove from a missing file = %v, want fs.ErrNotExist", err)
	}
	assertNoTemp(t, dir)
}

func contents(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNoTemp fails when dir holds a leftover temporary file.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
