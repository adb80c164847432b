//go:build !linux

package archive

import (
	"context"
	"errors"
	"io"
)

func diff(ctx context.Context, upper string, lower []string, w io.Writer) error {
	return errors.New("archive: diffing an overlay upper directory is not supported on this OS")
}
