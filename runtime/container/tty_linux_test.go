package container_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/container"
)

// TestRunTTY: with Spec.TTY the process's stdin and stdout are a pty of
// the container's own devpts, sized from Stdio.Resize, that In reaches;
// without it neither is a terminal.
func TestRunTTY(t *testing.T) {
	requireRoot(t)
	rt, chain, _ := newRuntime(t)
	base := container.Spec{Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"}, Env: []string{"PROBE_TTY=1"}, Remove: true, Cmd: []string{"read"}}
	tests := []struct {
		name string
		tty  bool
		want []string
	}{
		{"tty", true, []string{"tty0=/dev/pts/0\r\n", "isatty0=true\r\n", "isatty1=true\r\n", "winsize=30x90\r\n", `read:"hello" <nil>`}},
		{"no tty", false, []string{"tty0=pipe:", "isatty0=false\n", "isatty1=false\n", "winsize=none\n", `read:"hello" <nil>`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			spec.TTY = tc.tty
			resize := make(chan container.WinSize, 1)
			resize <- container.WinSize{Rows: 30, Cols: 90}
			var out, errOut bytes.Buffer
			code, err := rt.Run(context.Background(), spec, container.Stdio{In: strings.NewReader("hello\n"), Out: &out, Err: &errOut, Resize: resize})
			if err != nil || code != 0 {
				t.Fatalf("Run: code %d, err %v, stderr %q, stdout %q", code, err, errOut.String(), out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%q", w, out.String())
				}
			}
		})
	}
	t.Run("init fails", func(t *testing.T) {
		spec := base
		spec.TTY, spec.User = true, "ghost"
		var errOut bytes.Buffer
		code, err := rt.Run(context.Background(), spec, container.Stdio{Err: &errOut})
		if err != nil || code != 127 || !strings.Contains(errOut.String(), "unable to find user ghost") {
			t.Errorf("code %d, err %v, stderr %q", code, err, errOut.String())
		}
	})
}
