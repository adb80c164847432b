package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyMalicious applies hostile layers; each is refused (wantErr) or
// contained, and nothing outside root changes either way.
func TestApplyMalicious(t *testing.T) {
	requireRoot(t)
	type tc struct {
		name    string
		entries func(s sandbox) []ent
		opts    []Option
		wantErr error // nil: must succeed; errAny: must fail
		check   func(t *testing.T, s sandbox, st Stats)
	}
	errAny := errors.New("any error")
	rel := func(s sandbox) string { return "../outside/sentinel" }
	cases := []tc{
		{name: "dotdot", entries: func(s sandbox) []ent { return []ent{reg(rel(s), "pwned", 0o777)} }, wantErr: ErrUnsafePath},
		{name: "dotdot inside", entries: func(s sandbox) []ent { return []ent{reg("a/b/../../../outside/sentinel", "pwned", 0o777)} }, wantErr: ErrUnsafePath},
		{name: "dotdot dir", entries: func(s sandbox) []ent { return []ent{dir("../outside/", 0o777)} }, wantErr: ErrUnsafePath},
		{name: "absolute", entries: func(s sandbox) []ent { return []ent{reg(s.sentinel, "contained", 0o777)} },
			check: func(t *testing.T, s sandbox, _ Stats) {
				if readFile(t, filepath.Join(s.root, s.sentinel)) != "contained" {
					t.Error("absolute name not placed under root")
				}
			}},
		{name: "write through absolute symlink", entries: func(s sandbox) []ent {
			return []ent{symlink("link", s.outside), reg("link/sentinel", "pwned", 0o777), reg("link/new", "pwned", 0o777)}
		}, wantErr: errAny},
		{name: "dir through absolute symlink", entries: func(s sandbox) []ent {
			return []ent{symlink("link", s.outside), dir("link/newdir/", 0o777)}
		}, wantErr: errAny},
		{name: "relative symlink chain", entries: func(s sandbox) []ent {
			return []ent{symlink("a", ".."), symlink("a/b", "../.."), reg("a/b/x", "contained", 0o644),
				dir("outside/", 0o755), symlink("c", "../../../outside"), reg("c/sentinel", "contained", 0o644)}
		}, check: func(t *testing.T, s sandbox, _ Stats) {
			if readFile(t, filepath.Join(s.root, "x")) != "contained" || readFile(t, filepath.Join(s.root, "outside/sentinel")) != "contained" {
				t.Error("writes through climbing symlinks did not land inside root")
			}
		}},
		{name: "relative symlink out, missing inside", entries: func(s sandbox) []ent {
			return []ent{symlink("c", "../outside"), reg("c/sentinel", "pwned", 0o644)}
		}, wantErr: errAny},
		{name: "symlink then dotdot", entries: func(s sandbox) []ent {
			return []ent{symlink("l", s.outside), reg("l/../../outside/sentinel", "pwned", 0o777)}
		}, wantErr: ErrUnsafePath},
		{name: "replace symlink to outside", entries: func(s sandbox) []ent {
			return []ent{symlink("s", s.sentinel), reg("s", "replaced", 0o777), symlink("d", s.outside), dir("d", 0o777)}
		}, check: func(t *testing.T, s sandbox, _ Stats) {
			if readFile(t, filepath.Join(s.root, "s")) != "replaced" || lstat(t, filepath.Join(s.root, "d")).Mode&0o777 != 0o777 {
				t.Error("entries did not replace the symlinks")
			}
		}},
		{name: "hardlink to absolute host file", entries: func(s sandbox) []ent {
			return []ent{hardlink("h", s.sentinel)}
		}, wantErr: errAny},
		{name: "hardlink to etc passwd", entries: func(s sandbox) []ent {
			return []ent{hardlink("h", "/etc/passwd")}
		}, wantErr: errAny},
		{name: "hardlink dotdot", entries: func(s sandbox) []ent { return []ent{hardlink("h", rel(s))} }, wantErr: ErrUnsafePath},
		{name: "hardlink through symlink", entries: func(s sandbox) []ent {
			return []ent{symlink("l", s.outside), hardlink("h", "l/sentinel"), reg("h", "pwned", 0o777)}
		}, wantErr: errAny},
		{name: "hardlink to a symlink", entries: func(s sandbox) []ent {
			return []ent{symlink("l", s.sentinel), hardlink("h", "l"), reg("h", "replaced", 0o777)}
		}, check: func(t *testing.T, s sandbox, _ Stats) {
			if readFile(t, filepath.Join(s.root, "h")) != "replaced" {
				t.Error("h not replaced")
			}
		}},
		{name: "hardlink to directory", entries: func(s sandbox) []ent { return []ent{dir("d/", 0o755), hardlink("h", "d")} }, wantErr: ErrUnsafePath},
		{name: "whiteout dotdot", entries: func(s sandbox) []ent { return []ent{reg("../outside/.wh.sentinel", "", 0o644)} }, wantErr: ErrUnsafePath},
		{name: "whiteout naming parent", entries: func(s sandbox) []ent { return []ent{reg("d/.wh...", "", 0o644)} }, wantErr: ErrUnsafePath},
		{name: "whiteout naming dir itself", entries: func(s sandbox) []ent { return []ent{reg("d/.wh..", "", 0o644)} }, wantErr: ErrUnsafePath},
		{name: "whiteout through symlink", entries: func(s sandbox) []ent {
			return []ent{symlink("l", s.outside), reg("l/.wh.sentinel", "", 0o644)}
		}, wantErr: errAny},
		{name: "remove whiteout through symlink", opts: []Option{WithWhiteoutMode(Remove)}, entries: func(s sandbox) []ent {
			return []ent{symlink("l", "../outside"), reg("l/.wh.sentinel", "", 0o644), reg("l/.wh..wh..opq", "", 0o644)}
		}, wantErr: errAny},
		{name: "opaque through symlink", entries: func(s sandbox) []ent {
			return []ent{symlink("l", ".."), reg("l/.wh..wh..opq", "", 0o644)}
		}},
		{name: "devices when not root", opts: []Option{WithUnprivileged()}, entries: func(s sandbox) []ent {
			return []ent{
				{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "sda", Mode: 0o666, Devmajor: 8}},
				{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "mem", Mode: 0o666, Devmajor: 1, Devminor: 1}},
				hardlink("kmem", "mem"),
			}
		}, check: func(t *testing.T, s sandbox, st Stats) {
			if st.DevicesSkipped != 3 || exists(filepath.Join(s.root, "kmem")) || st.Devices != 0 || exists(filepath.Join(s.root, "sda")) || exists(filepath.Join(s.root, "mem")) {
				t.Errorf("devices not skipped: %+v", st)
			}
		}},
		{name: "long name", entries: func(s sandbox) []ent { return []ent{reg(strings.Repeat("a/", MaxNameLen/2)+"x", "", 0o644)} }, wantErr: ErrUnsafePath},
		{name: "root as file", entries: func(s sandbox) []ent { return []ent{reg(".", "x", 0o644)} }, wantErr: errAny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resolvers(t, func(t *testing.T, opts ...Option) {
				s := newSandbox(t)
				layer := mkTar(t, c.entries(s)...)
				st, err := Apply(context.Background(), s.root, bytes.NewReader(layer), append(opts, c.opts...)...)
				switch {
				case c.wantErr == nil && err != nil:
					t.Errorf("Apply: %v, want success (contained)", err)
				case c.wantErr == errAny && err == nil, c.wantErr != nil && c.wantErr != errAny && !errors.Is(err, c.wantErr):
					t.Errorf("Apply: %v, want %v", err, c.wantErr)
				}
				if c.check != nil && err == nil {
					c.check(t, s, st)
				}
				s.checkOutside(t)
			})
		})
	}
}
