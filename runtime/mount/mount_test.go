package mount

import (
	"slices"
	"testing"
)

func TestLowerDirs(t *testing.T) {
	tests := []struct {
		name string
		dirs []string
	}{
		{"one", []string{"/a"}},
		{"several", []string{"/a", "/b/c", "/d"}},
		{"colons and backslashes", []string{"/a:b", `/c\d`, "/e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Mount{Type: "overlay", Source: "overlay", Options: []string{"ro", "lowerdir=" + JoinLower(tt.dirs)}}
			if got := m.LowerDirs(); !slices.Equal(got, tt.dirs) {
				t.Fatalf("LowerDirs = %q, want %q", got, tt.dirs)
			}
		})
	}
	if got := (Mount{Options: []string{"upperdir=/u"}}).LowerDirs(); got != nil {
		t.Fatalf("LowerDirs without lowerdir = %q, want nil", got)
	}
}

func TestOption(t *testing.T) {
	m := Mount{Options: []string{"upperdir=/u", "workdir=/w"}}
	if v, ok := m.Option("workdir"); !ok || v != "/w" {
		t.Fatalf("Option(workdir) = %q, %v", v, ok)
	}
	if _, ok := m.Option("index"); ok {
		t.Fatal("Option(index) found a missing option")
	}
}
