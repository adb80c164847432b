package storage

import (
	"context"
	"errors"
	"path"
	"sync"

	"github.com/berthhq/berth/storage/driver"
)

// On drivers where every call is a network round trip (S3), walking
// repositories/ for the catalog costs a listing per directory: thousands of
// requests for thousands of repositories. There the Store keeps a catalog
// index instead: one empty object per repository, in one directory,
//
//	/docker/registry/v2/_berth/repositories/<encoded name>
//
// written when a repository gets its first manifest. The encoding maps
// each character of a name to one that sorts the same way among those
// allowed in a single path component ('/' becomes '0', digits shift up by
// one, '9' becomes ':'), so the index lists in the catalog's own order and
// a page of the catalog is one listing from the previous page's last name
// (driver.Pager), whatever the number of repositories.
//
// The index is built once from a walk of repositories/ when its "built"
// marker is absent (a bucket written by registry:2, or by a Berth before
// the index), by whichever replica first serves a catalog request.
// Repositories that registry:2 pushes into the bucket after that are
// indexed by the next upload purge, whose walk visits every repository
// anyway.

func catalogIndexPath() string { return path.Join(rootPath, "_berth", "repositories") }

func catalogIndexBuiltPath() string { return path.Join(rootPath, "_berth", "repositories-built") }

func catalogIndexEntry(name string) string {
	return path.Join(catalogIndexPath(), encodeIndexName(name))
}

func encodeIndexName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c == '/':
			b[i] = '0'
		case c >= '0' && c <= '9':
			b[i] = c + 1 // '9' becomes ':'
		}
	}
	return string(b)
}

func decodeIndexName(entry string) string {
	b := []byte(entry)
	for i, c := range b {
		switch {
		case c == '0':
			b[i] = '/'
		case c >= '1' && c <= ':':
			b[i] = c - 1
		}
	}
	return string(b)
}

// catalogIndex is the Store's in-memory side of the index.
type catalogIndex struct {
	on      bool
	known   sync.Map // repository name -> struct{}: entry written by this process
	buildMu sync.Mutex
	built   bool
}

// WithCatalogIndex turns the catalog index on or off. It is on by default
// for the s3 driver and off for local ones, whose walks are cheap.
func WithCatalogIndex(on bool) Option { return func(s *Store) { s.index.on = on } }

// indexRepository records name in the catalog index, once per process.
func (s *Store) indexRepository(ctx context.Context, name string) error {
	if !s.index.on {
		return nil
	}
	if _, ok := s.index.known.Load(name); ok {
		return nil
	}
	if err := s.d.PutContent(ctx, catalogIndexEntry(name), nil); err != nil {
		return err
	}
	s.index.known.Store(name, struct{}{})
	return nil
}

// indexedRepositories lists every repository in the index, building the
// index first when it has never been built.
func (s *Store) indexedRepositories(ctx context.Context) ([]string, error) {
	var names []string
	err := s.scanIndex(ctx, "", func(name string) bool {
		names = append(names, name)
		return true
	})
	return names, err
}

// scanIndex calls fn for the indexed repositories after last, in order,
// a page of listing at a time, until fn returns false.
func (s *Store) scanIndex(ctx context.Context, last string, fn func(name string) bool) error {
	if err := s.buildIndex(ctx); err != nil {
		return err
	}
	after := ""
	if last != "" {
		after = encodeIndexName(last)
	}
	for {
		paths, more, err := driver.ListPage(ctx, s.d, catalogIndexPath(), after, 1000)
		if errors.Is(err, driver.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range paths {
			after = path.Base(p)
			if !fn(decodeIndexName(after)) {
				return nil
			}
		}
		if !more {
			return nil
		}
	}
}

// indexedCatalog is CatalogFunc over the index: it reads only as many
// pages of the listing as the answer needs.
func (s *Store) indexedCatalog(ctx context.Context, last string, n int, keep func(name string) bool) ([]string, bool, error) {
	names := []string{}
	more := false
	err := s.scanIndex(ctx, last, func(name string) bool {
		if keep != nil && !keep(name) {
			return true
		}
		if n >= 0 && len(names) == n {
			more = true
			return false
		}
		names = append(names, name)
		return true
	})
	return names, more, err
}

func (s *Store) buildIndex(ctx context.Context) error {
	s.index.buildMu.Lock()
	defer s.index.buildMu.Unlock()
	if s.index.built {
		return nil
	}
	if _, err := s.d.Stat(ctx, catalogIndexBuiltPath()); err == nil {
		s.index.built = true
		return nil
	} else if !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	names, err := s.walkRepositories(ctx)
	if err != nil {
		return err
	}
	if err := s.indexAll(ctx, names); err != nil {
		return err
	}
	if err := s.d.PutContent(ctx, catalogIndexBuiltPath(), nil); err != nil {
		return err
	}
	s.log.Info("built the catalog index", "repositories", len(names))
	s.index.built = true
	return nil
}

// indexAll writes index entries for names, sixteen at a time.
func (s *Store) indexAll(ctx context.Context, names []string) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan string)
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range next {
				if err := s.indexRepository(ctx, name); err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, name := range names {
		next <- name
	}
	close(next)
	wg.Wait()
	return first
}

// refreshIndex writes index entries for the repositories in names that the
// index lacks.
func (s *Store) refreshIndex(ctx context.Context, names []string) error {
	if !s.index.on {
		return nil
	}
	indexed, err := s.indexedRepositories(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(indexed))
	for _, name := range indexed {
		have[name] = true
	}
	var missing []string
	for _, name := range names {
		if !have[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	s.log.Info("indexing repositories created without the catalog index", "count", len(missing))
	return s.indexAll(ctx, missing)
}
