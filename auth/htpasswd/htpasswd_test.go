package htpasswd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthhq/berth/auth"
)

// hash returns a bcrypt hash of password at the cheapest cost, with the
// given version prefix ("$2a$", "$2b$" or "$2y$").
func hash(t *testing.T, password, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(h[4:])
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clock is a settable time source for withClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestAuthenticate(t *testing.T) {
	content := "# users\n\n" +
		"alice:" + hash(t, "wonderland", "$2y$") + "\n" +
		"bob:" + hash(t, "builder", "$2a$") + "\r\n" +
		"  carol:" + hash(t, "c4r0l", "$2b$") + "  \n" +
		"dave:" + hash(t, "", "$2y$") + "\n"
	f, err := Load(writeFile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"2y", "alice", "wonderland", true},
		{"2a with CRLF", "bob", "builder", true},
		{"2b with spaces", "carol", "c4r0l", true},
		{"wrong password", "alice", "Wonderland", false},
		{"another user's password", "alice", "builder", false},
		{"unknown user", "mallory", "wonderland", false},
		{"empty password", "alice", "", false},
		{"empty password hashed", "dave", "", false},
		{"empty user", "", "wonderland", false},
		{"prefix of a user", "ali", "wonderland", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.Authenticate(context.Background(), tt.user, tt.password)
			switch {
			case tt.ok && err != nil:
				t.Errorf("Authenticate: %v", err)
			case !tt.ok && !errors.Is(err, auth.ErrBadCredentials):
				t.Errorf("Authenticate = %v, want ErrBadCredentials", err)
			}
			if err != nil && strings.Contains(err.Error(), tt.password) && tt.password != "" {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	for user, want := range map[string]bool{"alice": true, "bob": true, "carol": true, "mallory": false, "": false} {
		if got, err := f.Exists(context.Background(), user); err != nil || got != want {
			t.Errorf("Exists(%q) = %v, %v; want %v", user, got, err, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Authenticate(ctx, "alice", "wonderland"); !errors.Is(err, context.Canceled) {
		t.Errorf("Authenticate with a done context = %v", err)
	}
}

func TestDummyCost(t *testing.T) {
	h := func(cost int) string {
		b, err := bcrypt.GenerateFromPassword([]byte("x"), cost)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name    string
		content string
		want    int
	}{
		{"empty file", "", bcrypt.DefaultCost},
		{"one cost", "a:" + h(5) + "\nb:" + h(5) + "\n", 5},
		{"most common", "a:" + h(4) + "\nb:" + h(6) + "\nc:" + h(6) + "\n", 6},
		{"tie takes the higher", "a:" + h(6) + "\nb:" + h(4) + "\n", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Load(writeFile(t, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := bcrypt.Cost(f.dummy); err != nil || got != tt.want {
				t.Errorf("dummy cost = %d, %v; want %d", got, err, tt.want)
			}
			if err := f.Authenticate(context.Background(), "nobody", "x"); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("Authenticate(unknown) = %v", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	good := "alice:" + hash(t, "pw", "$2y$") + "\n"
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"md5", good + "bob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n", []string{"line 2", `user "bob"`, "MD5 ($apr1$)"}},
		{"sha1", "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n" + good, []string{"line 1", "SHA-1"}},
		{"crypt", good + "\nbob:rqXexS6ZhobKA\n", []string{"line 3", "crypt or plain text"}},
		{"sha512 crypt", good + "bob:$6$salt$hash\n", []string{"line 2", "SHA-crypt"}},
		{"plain text", "bob:hunter2\n", []string{"line 1", "not a bcrypt hash"}},
		{"truncated bcrypt", "bob:" + hash(t, "pw", "$2y$")[:40] + "\n", []string{"line 1", "malformed bcrypt hash"}},
		{"no colon", good + "bob\n", []string{"line 2", "not user:hash"}},
		{"empty user", ":" + hash(t, "pw", "$2y$") + "\n", []string{"line 1", "user name is empty"}},
		{"reserved user", "anonymous:" + hash(t, "pw", "$2y$") + "\n", []string{"line 1", "reserved"}},
		{"slash in user", "a/b:" + hash(t, "pw", "$2y$") + "\n", []string{"line 1", `holds '/'`}},
		{"repeated user", good + good, []string{"line 2", `user "alice" is listed again (first on line 1)`}},
		{"every bad line", "bob:plain\ncarol:{SHA}x\n", []string{"line 1", "line 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			f, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded with %d users", len(f.users))
			}
			for _, want := range append(tt.want, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
			for _, secret := range []string{"hunter2", "HqJZimcKQFAMYayBlzkrA", "W6ph5Mm5Pz8"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the hash", err)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if _, err := Load(writeFile(t, ""), WithInterval(-time.Second)); err == nil {
		t.Error("Load with a negative interval succeeded")
	}
}

// TestReload follows a File through changes of its file on disk.
func TestReload(t *testing.T) {
	ctx := context.Background()
	path := writeFile(t, "alice:"+hash(t, "one", "$2y$")+"\n")
	c := &clock{now: time.Unix(1e9, 0)}
	f, err := Load(path, withClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	authOK := func(user, password string) error { return f.Authenticate(ctx, user, password) }
	steps := []struct {
		name    string
		change  func(t *testing.T)
		advance time.Duration
		user    string
		pass    string
		want    error // nil, auth.ErrBadCredentials, or another class
	}{
		{"added user unseen within the interval",
			func(t *testing.T) { mustAdd(t, path, "bob", "two") }, 500 * time.Millisecond, "bob", "two", auth.ErrBadCredentials},
		{"added user seen after the interval", nil, 500 * time.Millisecond, "bob", "two", nil},
		{"changed password", func(t *testing.T) { mustAdd(t, path, "alice", "three") }, time.Second, "alice", "three", nil},
		{"old password refused", nil, time.Second, "alice", "one", auth.ErrBadCredentials},
		{"removed user gone", func(t *testing.T) {
			if err := Remove(path, "bob"); err != nil {
				t.Fatal(err)
			}
		}, time.Second, "bob", "two", auth.ErrBadCredentials},
		{"invalid file fails closed", func(t *testing.T) {
			appendLine(t, path, "carol:$apr1$x$y")
		}, time.Second, "alice", "three", errInvalid},
		{"still invalid", nil, time.Second, "alice", "three", errInvalid},
		{"fixed file", func(t *testing.T) { mustAdd(t, path, "carol", "four") }, time.Second, "carol", "four", nil},
		{"missing file fails closed", func(t *testing.T) {
			if err := os.Rename(path, path+".bak"); err != nil {
				t.Fatal(err)
			}
		}, time.Second, "alice", "three", fs.ErrNotExist},
		{"file back", func(t *testing.T) {
			if err := os.Rename(path+".bak", path); err != nil {
				t.Fatal(err)
			}
		}, time.Second, "alice", "three", nil},
	}
	for _, s := range steps {
		if s.change != nil {
			s.change(t)
		}
		c.Advance(s.advance)
		err := authOK(s.user, s.pass)
		switch {
		case s.want == nil && err != nil:
			t.Errorf("%s: Authenticate: %v", s.name, err)
		case s.want == errInvalid && (err == nil || errors.Is(err, auth.ErrBadCredentials)):
			t.Errorf("%s: Authenticate = %v, want an error other than ErrBadCredentials", s.name, err)
		case s.want != nil && s.want != errInvalid && !errors.Is(err, s.want):
			t.Errorf("%s: Authenticate = %v, want %v", s.name, err, s.want)
		}
		if s.want == errInvalid {
			if _, err := f.Exists(ctx, "alice"); err == nil {
				t.Errorf("%s: Exists succeeded on an invalid file", s.name)
			}
		}
	}
}

// errInvalid stands for "an error that is not ErrBadCredentials" in
// TestReload.
var errInvalid = errors.New("invalid file")

func mustAdd(t *testing.T, path, user, password string) {
	t.Helper()
	if err := Add(path, user, []byte(password), bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	fd, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if _, err := fd.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrent checks under -race that checks and reloads may overlap.
func TestConcurrent(t *testing.T) {
	path := writeFile(t, "alice:"+hash(t, "pw", "$2y$")+"\n")
	f, err := Load(path, WithInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 5 {
				if err := f.Authenticate(context.Background(), "alice", "pw"); err != nil {
					t.Errorf("goroutine %d: %v", i, err)
				}
			}
		})
	}
	for i := range 5 {
		mustAdd(t, path, "user"+string(rune('a'+i)), "x")
	}
	wg.Wait()
	if ok, err := f.Exists(context.Background(), "usere"); !ok || err != nil {
		t.Errorf("Exists(usere) = %v, %v", ok, err)
	}
}
