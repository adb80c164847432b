//go:build !linux

package archive

import (
	"context"
	"errors"
)

func apply(ctx context.Context, root string, lr *limitReader, o options) (Stats, error) {
	_ = o.noOpenat2 // used by the Linux resolver
	return Stats{}, errors.New("archive: applying layers is not supported on this OS")
}
