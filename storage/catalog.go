package storage

import (
	"context"
	"errors"
	"path"
	"sort"
	"strings"

	"github.com/berthhq/berth/storage/driver"
)

// Catalog returns up to n repository names in lexical order, starting after
// last (n < 0: all), and whether more follow. A repository is a directory
// under repositories/ that holds a _manifests directory, as in registry:2.
func (s *Store) Catalog(ctx context.Context, last string, n int) ([]string, bool, error) {
	return s.CatalogFunc(ctx, last, n, nil)
}

// CatalogFunc is Catalog over only the repositories keep accepts (all when
// keep is nil), so pages stay full when a caller may see only some.
func (s *Store) CatalogFunc(ctx context.Context, last string, n int, keep func(name string) bool) ([]string, bool, error) {
	if s.index.on {
		return s.indexedCatalog(ctx, last, n, keep)
	}
	all, err := s.walkRepositories(ctx)
	if err != nil {
		return nil, false, err
	}
	names := all[:0]
	for _, name := range all {
		if keep == nil || keep(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	page, more := paginate(names, last, n)
	return page, more, nil
}

// walkRepositories finds every repository by walking repositories/.
func (s *Store) walkRepositories(ctx context.Context) ([]string, error) {
	var names []string
	root := reposPath()
	err := s.d.Walk(ctx, root, func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			return nil
		}
		base := path.Base(fi.Path())
		if !strings.HasPrefix(base, "_") {
			return nil
		}
		if base == "_manifests" {
			names = append(names, strings.TrimPrefix(path.Dir(fi.Path()), root+"/"))
		}
		return driver.ErrSkipDir
	})
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return nil, err
	}
	return names, nil
}
