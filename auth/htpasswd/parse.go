package htpasswd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// MaxUserLen is the longest user name accepted, in bytes.
const MaxUserLen = 128

// reserved are names that access rules give another meaning (auth/acl's
// "anonymous" stands for callers without credentials).
var reserved = []string{"anonymous"}

// CheckUser returns an error when name cannot be an htpasswd user: empty,
// longer than MaxUserLen bytes, not UTF-8, holding ':' (the field
// separator), whitespace or control characters, or characters that access
// rules use as syntax or that would let the name reach into repository
// paths: '/', '*', '$', '{', '}'; or the reserved name "anonymous".
func CheckUser(name string) error {
	switch {
	case name == "":
		return errors.New("user name is empty")
	case len(name) > MaxUserLen:
		return fmt.Errorf("user name is longer than %d bytes", MaxUserLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("user name %q is not UTF-8", name)
	}
	for _, r := range reserved {
		if strings.EqualFold(name, r) {
			return fmt.Errorf("user name %q is reserved", name)
		}
	}
	for _, c := range name {
		if unicode.IsSpace(c) || unicode.IsControl(c) || strings.ContainsRune(":/*${}", c) {
			return fmt.Errorf("user name %q holds %q; user names hold no whitespace, control characters or any of : / * $ { }", name, c)
		}
	}
	return nil
}

// checkHash returns an error when hash is not a bcrypt hash of the kinds
// accepted. The error never shows the hash.
func checkHash(hash []byte) (cost int, err error) {
	s := string(hash)
	if !strings.HasPrefix(s, "$2y$") && !strings.HasPrefix(s, "$2a$") && !strings.HasPrefix(s, "$2b$") {
		return 0, errors.New("not a bcrypt hash ($2y$, $2a$ or $2b$): " + kindOf(s) +
			" is not accepted; set the password again with `registry user add`")
	}
	cost, err = bcrypt.Cost(hash)
	if err != nil || len(hash) != 60 {
		return 0, errors.New("malformed bcrypt hash")
	}
	return cost, nil
}

// kindOf names the kind of a non-bcrypt htpasswd hash for error messages.
func kindOf(hash string) string {
	switch {
	case strings.HasPrefix(hash, "$apr1$"):
		return "an MD5 ($apr1$) hash"
	case strings.HasPrefix(hash, "{SHA}"):
		return "a SHA-1 ({SHA}) hash"
	case strings.HasPrefix(hash, "$5$"), strings.HasPrefix(hash, "$6$"):
		return "a SHA-crypt hash"
	case strings.HasPrefix(hash, "$"):
		return "this kind of hash"
	}
	return "crypt or plain text"
}

// entry is one line of an htpasswd file split at its first ':'; ok is
// false for a blank line or comment.
type entry struct {
	user, hash string
	ok         bool
}

// splitLine splits an htpasswd line. Surrounding whitespace and a
// trailing '\r' are ignored.
func splitLine(line string) (entry, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return entry{}, nil
	}
	user, hash, found := strings.Cut(line, ":")
	if !found {
		return entry{}, errors.New("not user:hash")
	}
	return entry{user: user, hash: hash, ok: true}, nil
}

// parse reads an htpasswd file named name from r. It returns the users'
// hashes and how many hashes there are of each cost, or an error naming
// every bad line.
func parse(r io.Reader, name string) (map[string][]byte, map[int]int, error) {
	users := make(map[string][]byte)
	lines := make(map[string]int)
	costs := make(map[int]int)
	var errs []error
	bad := func(n int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("htpasswd: %s line %d: %s", name, n, fmt.Sprintf(format, args...)))
	}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		e, err := splitLine(sc.Text())
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		if !e.ok {
			continue
		}
		if err := CheckUser(e.user); err != nil {
			bad(n, "%v", err)
			continue
		}
		if first, dup := lines[e.user]; dup {
			bad(n, "user %q is listed again (first on line %d)", e.user, first)
			continue
		}
		lines[e.user] = n
		cost, err := checkHash([]byte(e.hash))
		if err != nil {
			bad(n, "user %q: %v", e.user, err)
			continue
		}
		users[e.user] = []byte(e.hash)
		costs[cost]++
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("htpasswd: %s: %w", name, err)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return users, costs, nil
}
