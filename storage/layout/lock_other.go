//go:build !unix

package layout

import (
	"context"
	"errors"
	"os"
)

var errNoFlock = errors.New("layout: file locks (flock) are not supported on this OS")

func flockFile(context.Context, *os.File, int) error { return errNoFlock }

func lockPath(context.Context, string, int) (func(), error) { return nil, errNoFlock }

const (
	lockShared    = 1
	lockExclusive = 2
)
