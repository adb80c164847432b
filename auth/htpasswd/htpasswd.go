// Package htpasswd checks passwords against an htpasswd file of bcrypt
// hashes, the format of Apache's `htpasswd -B` and of registry:2's
// htpasswd authentication, and edits such files.
//
// # Format
//
// One entry per line, "user:hash", where hash is a bcrypt hash ($2y$, $2a$
// or $2b$). Blank lines and lines starting with '#' are skipped (and kept
// by Add and Remove). Any other line is an error naming its number: an
// entry without ':', a user name CheckUser refuses, a user listed twice, or
// a hash of another kind (MD5 $apr1$, SHA-1 {SHA}, crypt, plain text),
// which is never accepted.
//
// A File re-reads its file when it changes on disk (a different file, size
// or modification time, checked at most once per interval), so that users
// added or removed with Add and Remove, or by hand, take effect without a
// restart. While the file is missing or invalid, every check fails with the
// error that says why: a file that cannot be read grants nothing.
package htpasswd

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthhq/berth/auth"
)

// DefaultInterval is how often a File looks at its file for changes, at
// most.
const DefaultInterval = time.Second

// maxFileSize bounds the htpasswd file read: about 100,000 users.
const maxFileSize = 8 << 20

// File is an htpasswd file loaded for password checks. Its methods are safe
// for concurrent use.
type File struct {
	path     string
	interval time.Duration
	now      func() time.Time

	mu sync.Mutex
	// checked is when the file was last looked at.
	checked time.Time
	// info describes the file that users (or err) was read from; nil when
	// it could not be opened.
	info os.FileInfo
	// users maps a user to its hash; replaced whole on reload, never
	// changed in place, so it may be read after mu is released.
	users map[string][]byte
	// err is why the file could not be used; users is empty while it is
	// set.
	err error
	// dummy is a hash compared against for unknown users, at dummyCost,
	// the most common cost of the file's hashes.
	dummy     []byte
	dummyCost int
}

// Option configures a File.
type Option func(*File)

// WithInterval sets how often, at most, the file is checked for changes
// (DefaultInterval when not given). Zero checks on every call.
func WithInterval(d time.Duration) Option {
	return func(f *File) { f.interval = d }
}

// withClock replaces time.Now in tests.
func withClock(now func() time.Time) Option {
	return func(f *File) { f.now = now }
}

// Load reads the htpasswd file at path. It fails when the file cannot be
// read or holds an invalid line (see the package comment); the error names
// the path and every bad line. The File re-reads path when it changes.
func Load(path string, opts ...Option) (*File, error) {
	f := &File{path: path, interval: DefaultInterval, now: time.Now}
	for _, o := range opts {
		o(f)
	}
	if f.interval < 0 {
		return nil, fmt.Errorf("htpasswd: negative check interval %s", f.interval)
	}
	f.checked = f.now()
	f.reload()
	if f.err != nil {
		return nil, f.err
	}
	return f, nil
}

// Authenticate checks password for user. It returns an error matching
// auth.ErrBadCredentials for a wrong password and for an unknown user
// alike, taking as long for either (an unknown user's password is compared
// against a dummy hash), or another error when the file is missing or
// invalid, or ctx is done.
func (f *File) Authenticate(ctx context.Context, user, password string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	users, dummy, err := f.current()
	if err != nil {
		return err
	}
	hash, ok := users[user]
	if !ok {
		hash = dummy
	}
	// Compare even when password is empty or the user unknown, so that
	// the time taken tells nothing.
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	if !ok || !match || password == "" {
		return fmt.Errorf("htpasswd: user %q: %w", user, auth.ErrBadCredentials)
	}
	return nil
}

// Exists reports whether user has an entry in the file. It fails when the
// file is missing or invalid, or ctx is done.
func (f *File) Exists(ctx context.Context, user string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	users, _, err := f.current()
	if err != nil {
		return false, err
	}
	_, ok := users[user]
	return ok, nil
}

// current returns the users and dummy hash of the file as it is now,
// re-reading it if the interval has passed and it changed.
func (f *File) current() (map[string][]byte, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := f.now(); now.Sub(f.checked) >= f.interval || now.Before(f.checked) {
		f.checked = now
		f.reload()
	}
	return f.users, f.dummy, f.err
}

// reload re-reads the file if it is not the one last read. f.mu is held
// (or f is not yet shared).
func (f *File) reload() {
	if fi, err := os.Stat(f.path); err == nil && f.info != nil && same(fi, f.info) {
		return
	}
	users, costs, info, err := readFile(f.path)
	f.info = info
	if err != nil {
		f.users, f.err = nil, err
		return
	}
	cost := mode(costs)
	if f.dummy == nil || cost != f.dummyCost {
		dummy, err := newDummy(cost)
		if err != nil {
			f.users, f.err = nil, fmt.Errorf("htpasswd: %w", err)
			return
		}
		f.dummy, f.dummyCost = dummy, cost
	}
	f.users, f.err = users, nil
}

// same reports whether a and b describe the same version of a file.
func same(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// readFile opens, describes and parses the file at path.
func readFile(path string) (map[string][]byte, map[int]int, os.FileInfo, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("htpasswd: %w", err)
	}
	defer fd.Close()
	info, err := fd.Stat()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("htpasswd: %w", err)
	}
	if info.Size() > maxFileSize {
		return nil, nil, info, fmt.Errorf("htpasswd: %s: larger than %d bytes", path, maxFileSize)
	}
	users, costs, err := parse(fd, path)
	return users, costs, info, err
}

// mode returns the most common cost in costs (the higher on a tie), or
// bcrypt.DefaultCost when costs is empty.
func mode(costs map[int]int) int {
	best, n := bcrypt.DefaultCost, 0
	for cost, count := range costs {
		if count > n || count == n && cost > best {
			best, n = cost, count
		}
	}
	return best
}

// newDummy returns the hash of a random password at cost.
func newDummy(cost int) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
}
