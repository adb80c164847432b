// Package mount describes a filesystem mount and performs it.
//
// A Mount is a plain description (type, source, options in mount(8)
// syntax); seams such as runtime/snapshot return descriptions and the
// caller performs the effect with Mount.Mount and Unmount. Mounting is
// Linux-only: elsewhere both return ErrNotSupported.
package mount

import (
	"errors"
	"strings"
)

// ErrNotSupported: mounting is not available on this OS.
var ErrNotSupported = errors.New("mount: not supported on this OS")

// Mount describes one mount. Options use mount(8) syntax: flags such
// as "ro", "nosuid", "bind", and filesystem data such as
// "lowerdir=/a:/b", "upperdir=/u", "workdir=/w".
type Mount struct {
	Type    string
	Source  string
	Options []string
}

// LowerDirs returns the overlay lower directories named by a
// "lowerdir=" option, topmost first, or nil when there is none.
// Escaped colons ("\:") are kept inside a directory name.
func (m Mount) LowerDirs() []string {
	for _, o := range m.Options {
		if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
			return splitLower(v)
		}
	}
	return nil
}

// Option returns the value of the data option key ("upperdir") and
// whether it is present.
func (m Mount) Option(key string) (string, bool) {
	for _, o := range m.Options {
		if v, ok := strings.CutPrefix(o, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// splitLower splits a lowerdir value on unescaped colons.
func splitLower(v string) []string {
	var dirs []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			cur.WriteByte(v[i+1])
			i++
		case v[i] == ':':
			dirs = append(dirs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(dirs, cur.String())
}

// JoinLower joins overlay lower directories (topmost first) into a
// lowerdir value, escaping colons and backslashes in names.
func JoinLower(dirs []string) string {
	esc := make([]string, len(dirs))
	r := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	for i, d := range dirs {
		esc[i] = r.Replace(d)
	}
	return strings.Join(esc, ":")
}
