// Package container runs foreground containers from unpacked images.
//
// Local store layout, under the root given to New:
//
//	containers/<id>/config.json  the Record (spec, state, exit code)
//	containers/<id>/upper        the overlay upper dir (the container's changes)
//	containers/<id>/work         the overlay work dir
//	containers/<id>/rootfs       where the overlay is mounted while it runs
//	containers/<id>/log          a detached (-d) container's stdout and stderr
//	containers/.cgroup/          cgroup2, mounted here by ctl when the host has none
//
// Whoever runs a container (ctl run, or a detached container's monitor)
// holds an flock on its directory until it has recorded the exit: a
// "running" record whose lock is free and whose process is gone was left
// by a crash.
//
// With Spec.Memory the container runs in a cgroup of its own, ctl/<id>
// under the host's cgroup2 mount when that has the memory controller,
// else under the cgroup v1 memory hierarchy (hybrid hosts), removed when
// the container ends. With Spec.TTY init opens a pseudo-terminal in the
// container's own devpts instance, makes it the process's controlling
// terminal and stdio, and passes the master back to the parent.
//
// Run re-executes the current binary with InitArg as argv[1] in new
// mount, pid, uts and ipc namespaces (and net for NetworkNone); the
// binary's main must hand that invocation to Init before anything else.
// The overlay is mounted inside the container's own mount namespace, so
// it disappears with the container's processes even if ctl dies.
package container

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthhq/berth/internal/atomicfile"
	"github.com/berthhq/berth/runtime/mount"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
)

// InitArg is argv[1] of the container's init stage.
const InitArg = "__ctl-init"

// MonitorArg is argv[1] of a detached container's monitor process.
const MonitorArg = "__ctl-monitor"

// Reexec runs the stage this process was re-executed for, when args (the
// process's os.Args) name one: a container's init (InitArg) or a detached
// container's monitor (MonitorArg). It returns that stage's exit code and
// true; for an ordinary start it returns false and does nothing. ctl's main,
// and any test binary that starts containers, call it before anything else.
func Reexec(args []string) (code int, ok bool) {
	if len(args) > 1 {
		switch args[1] {
		case InitArg:
			return Init(args), true
		case MonitorArg:
			return Monitor(args), true
		}
	}
	return 0, false
}

// Network modes.
const (
	NetworkHost = "host"
	NetworkNone = "none"
)

// ErrNotFound: no container has that ID or name.
var ErrNotFound = errors.New("no such container")

// ErrNotSupported: containers need Linux.
var ErrNotSupported = errors.New("container: not supported on this OS")

// Spec is what to run: the image's layers and config, and the command
// line's overrides.
type Spec struct {
	Name     string          `json:"name,omitempty"`
	Image    string          `json:"image"`
	ChainIDs []digest.Digest `json:"chainIDs"` // bottom layer first

	Entrypoint []string `json:"entrypoint,omitempty"` // the image's
	Cmd        []string `json:"cmd,omitempty"`        // the image's, or the command line's
	Env        []string `json:"env,omitempty"`        // the image's, then -e (later wins)
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"` // uid[:gid] or names from the image's /etc/passwd, /etc/group
	Hostname   string   `json:"hostname,omitempty"`
	Network    string   `json:"network,omitempty"` // NetworkHost (default) or NetworkNone
	Remove     bool     `json:"remove,omitempty"`  // --rm
	Binds      []Bind   `json:"binds,omitempty"`   // -v
	TTY        bool     `json:"tty,omitempty"`     // -t: a pseudo-terminal from the container's devpts
	Memory     int64    `json:"memory,omitempty"`  // --memory: bytes, 0 for no limit
}

// WinSize is a terminal's size in character cells.
type WinSize struct{ Rows, Cols uint16 }

// Bind is a host path bind-mounted into the container (-v).
type Bind struct {
	Source      string `json:"source"`      // absolute host path
	Destination string `json:"destination"` // absolute path in the container
	ReadOnly    bool   `json:"readOnly,omitempty"`
}

// ParseBind parses -v HOST:CTR[:ro|rw]; both paths must be absolute.
func ParseBind(v string) (Bind, error) {
	parts := strings.Split(v, ":")
	var b Bind
	switch len(parts) {
	case 3:
		switch parts[2] {
		case "ro":
			b.ReadOnly = true
		case "rw":
		default:
			return Bind{}, fmt.Errorf("invalid volume %q: mode %q (only ro and rw are supported)", v, parts[2])
		}
	case 2:
	default:
		return Bind{}, fmt.Errorf("invalid volume %q: want HOST:CONTAINER[:ro]", v)
	}
	b.Source, b.Destination = parts[0], parts[1]
	if !filepath.IsAbs(b.Source) {
		return Bind{}, fmt.Errorf("invalid volume %q: the host path must be absolute (named volumes are not supported)", v)
	}
	if !filepath.IsAbs(b.Destination) {
		return Bind{}, fmt.Errorf("invalid volume %q: the container path must be absolute", v)
	}
	b.Source, b.Destination = filepath.Clean(b.Source), filepath.Clean(b.Destination)
	if b.Destination == "/" {
		return Bind{}, fmt.Errorf("invalid volume %q: cannot mount over the container's /", v)
	}
	return b, nil
}

// Args is the process's argv: Entrypoint then Cmd.
func (s Spec) Args() []string {
	return append(append([]string{}, s.Entrypoint...), s.Cmd...)
}

// initConfig is what the parent hands the init stage (as argv[2]).
type initConfig struct {
	Rootfs   string        `json:"rootfs"`
	Mounts   []mount.Mount `json:"mounts"`
	Hostname string        `json:"hostname"`
	Spec     Spec          `json:"spec"`
	// CgroupFd, when not 0, is an inherited descriptor of the container's
	// cgroup.procs: init writes itself into it before anything else.
	CgroupFd int `json:"cgroupFd,omitempty"`
	// ConsoleFd, when not 0, is an inherited socket: init sends the
	// master of the pseudo-terminal it opens over it (Spec.TTY).
	ConsoleFd int `json:"consoleFd,omitempty"`
}

// Record is a container's config.json.
type Record struct {
	ID         string    `json:"id"`
	Spec       Spec      `json:"spec"`
	Created    time.Time `json:"created"`
	Status     string    `json:"status"` // "created", "running", "exited"
	Pid        int       `json:"pid,omitempty"`
	PidStart   uint64    `json:"pidStart,omitempty"` // the process's start time (/proc/PID/stat), against PID reuse
	ExitCode   int       `json:"exitCode"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Cgroup     string    `json:"cgroup,omitempty"` // the cgroup directory of a --memory container
}

// Runtime runs containers under root over the snapshots in snaps.
type Runtime struct {
	root  string // <root>/containers
	snaps *snapshot.Store
}

// New returns a Runtime keeping containers in dir (<root>/containers).
func New(dir string, snaps *snapshot.Store) (*Runtime, error) {
	if dir == "" || snaps == nil {
		return nil, errors.New("container: a directory and a snapshot store are required")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Runtime{root: dir, snaps: snaps}, nil
}

// Dir returns the directory of container id.
func (r *Runtime) Dir(id string) string { return filepath.Join(r.root, id) }

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *Runtime) writeRecord(rec *Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(r.Dir(rec.ID), "config.json"), b, 0o600, nil)
}

// List returns every container's record, in no particular order. A
// record that says running while nothing runs it any more (ctl or the
// monitor was killed, and the process with it) is marked exited, with
// status 255 as docker shows a container whose state was lost.
func (r *Runtime) List() ([]Record, error) {
	ents, err := os.ReadDir(r.root)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(r.root, e.Name(), "config.json"))
		if err != nil {
			continue // being created or removed
		}
		var rec Record
		if json.Unmarshal(b, &rec) == nil && rec.ID == e.Name() {
			r.reconcile(&rec)
			out = append(out, rec)
		}
	}
	return out, nil
}

// Lookup returns the record of the container with this name, ID or
// unique ID prefix; the error wraps ErrNotFound when there is none.
func (r *Runtime) Lookup(ref string) (Record, error) {
	all, err := r.List()
	if err != nil {
		return Record{}, err
	}
	var hits []Record
	for _, rec := range all {
		if rec.Spec.Name == ref || rec.ID == ref {
			return rec, nil
		}
		if ref != "" && strings.HasPrefix(rec.ID, ref) {
			hits = append(hits, rec)
		}
	}
	if len(hits) == 1 {
		return hits[0], nil
	}
	if len(hits) > 1 {
		return Record{}, fmt.Errorf("container %q: ambiguous ID prefix", ref)
	}
	return Record{}, fmt.Errorf("%w: %s", ErrNotFound, ref)
}
