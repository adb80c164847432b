package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/opencontainers/go-digest"
)

// labels is labels.json: digest -> key -> value.
type labels map[digest.Digest]map[string]string

// readLabels reads labels.json (empty when missing). The caller holds the
// index lock.
func (l *Layout) readLabels() (labels, error) {
	p := l.path(labelsFile)
	b, err := readFileMax(p, maxIndexSize)
	if errors.Is(err, fs.ErrNotExist) {
		return labels{}, nil
	}
	if err != nil {
		return nil, err
	}
	lb := labels{}
	if err := json.Unmarshal(b, &lb); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return lb, nil
}

// writeLabels rewrites labels.json atomically. The caller holds the index
// lock.
func (l *Layout) writeLabels(lb labels) error {
	b, err := json.MarshalIndent(lb, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(l.path(labelsFile), append(b, '\n'))
}

// Labels returns the labels of blob d (an empty map when it has none).
// Labels are small facts about a blob kept beside the layout, such as the
// repositories it was pulled from; GC drops them with the blob.
func (l *Layout) Labels(ctx context.Context, d digest.Digest) (map[string]string, error) {
	var out map[string]string
	err := l.withIndexLock(ctx, func() error {
		lb, err := l.readLabels()
		if err != nil {
			return err
		}
		out = make(map[string]string, len(lb[d]))
		for k, v := range lb[d] {
			out[k] = v
		}
		return nil
	})
	return out, err
}

// UpdateLabels changes the labels of blobs ds in one update under the
// index lock: fn is called for each with the blob's current labels, a map
// it may modify (deleting every key drops the blob's entry). Every blob
// must be stored (ErrBlobUnknown otherwise, and nothing changes).
func (l *Layout) UpdateLabels(ctx context.Context, ds []digest.Digest, fn func(d digest.Digest, labels map[string]string)) error {
	for _, d := range ds {
		if _, err := l.Stat(ctx, d); err != nil {
			return err
		}
	}
	return l.withIndexLock(ctx, func() error {
		lb, err := l.readLabels()
		if err != nil {
			return err
		}
		for _, d := range ds {
			m := lb[d]
			if m == nil {
				m = map[string]string{}
			}
			fn(d, m)
			if len(m) == 0 {
				delete(lb, d)
			} else {
				lb[d] = m
			}
		}
		return l.writeLabels(lb)
	})
}
