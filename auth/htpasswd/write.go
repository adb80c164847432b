package htpasswd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/internal/atomicfile"
	"golang.org/x/crypto/bcrypt"
)

// ErrUnknownUser is returned by Remove for a user the file does not list.
var ErrUnknownUser = errors.New("no such user")

// DefaultCost is the bcrypt cost Add uses when given 0.
const DefaultCost = bcrypt.DefaultCost

// newFileMode is the mode of a file Add creates.
const newFileMode fs.FileMode = 0o600

// Add sets user's password in the htpasswd file at path, hashed with bcrypt
// at cost (DefaultCost when 0), creating the file when it does not
// exist. An existing entry for user is replaced in place; every other line
// is kept as it was, so Add can also replace an entry whose hash Load
// refuses. It fails for a name CheckUser refuses, an empty password or one
// longer than bcrypt's 72 bytes, or a cost outside bcrypt's range.
//
// The file is replaced atomically (a synced temporary file renamed over
// it; the file a symbolic link names, when path is one): a reader sees the
// old file or the new one. A new file has mode
// 0600; a replaced one keeps its permissions less any for others, and its
// owner and group when the caller may set them. Concurrent writers are not
// coordinated: the last one wins.
func Add(path, user string, password []byte, cost int) error {
	if err := CheckUser(user); err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	if len(password) == 0 {
		return errors.New("htpasswd: empty password")
	}
	if cost == 0 {
		cost = DefaultCost
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return fmt.Errorf("htpasswd: bcrypt cost %d is not between %d and %d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	hash, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	lines, info, err := readLines(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	entry := user + ":" + string(hash)
	out, replaced := make([]string, 0, len(lines)+1), false
	for _, line := range lines {
		if e, err := splitLine(line); err == nil && e.ok && e.user == user {
			if !replaced {
				out = append(out, entry)
				replaced = true
			}
			continue
		}
		out = append(out, line)
	}
	if !replaced {
		out = append(out, entry)
	}
	return writeLines(path, out, info)
}

// Remove deletes user's entries from the htpasswd file at path, keeping
// every other line. It fails with an error matching ErrUnknownUser when the
// file does not list user, and with one matching fs.ErrNotExist when there
// is no file. The file is replaced as by Add.
func Remove(path, user string) error {
	lines, info, err := readLines(path)
	if err != nil {
		return err
	}
	out, removed := make([]string, 0, len(lines)), false
	for _, line := range lines {
		if e, err := splitLine(line); err == nil && e.ok && e.user == user {
			removed = true
			continue
		}
		out = append(out, line)
	}
	if !removed {
		return fmt.Errorf("htpasswd: %s: user %q: %w", path, user, ErrUnknownUser)
	}
	return writeLines(path, out, info)
}

// readLines returns the lines of the file at path and its description.
func readLines(path string) ([]string, os.FileInfo, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("htpasswd: %w", err)
	}
	defer fd.Close()
	info, err := fd.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("htpasswd: %w", err)
	}
	if info.Size() > maxFileSize {
		return nil, nil, fmt.Errorf("htpasswd: %s: larger than %d bytes", path, maxFileSize)
	}
	var lines []string
	sc := bufio.NewScanner(fd)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("htpasswd: %s: %w", path, err)
	}
	return lines, info, nil
}

// writeLines replaces the file at path with lines, atomically. old
// describes the file replaced, or is nil when there is none.
func writeLines(path string, lines []string, old os.FileInfo) error {
	var buf bytes.Buffer
	for _, line := range lines {
		buf.WriteString(line)
		buf.WriteByte('\n')
	}
	// Replace the file a symbolic link points to, not the link.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	mode := newFileMode
	if old != nil {
		mode = old.Mode().Perm() &^ 0o007
	}
	if err := atomicfile.Write(path, buf.Bytes(), mode, old); err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	return nil
}
