package storage

import (
	"context"
	"errors"
	"path"
	"strings"
	"sync"

	"github.com/berthhq/berth/storage/driver"
)

// On drivers where every call is a network round trip (S3), walking
// repositories/ for the catalog costs a listing per directory: thousands of
// requests for thousands of repositories. There the Store keeps a catalog
// index instead: one empty object per repository,
//
//	/docker/registry/v2/_berth/catalog/<name with "/" as ":">
//
// written when a repository gets its first manifest, so the catalog is a
// listing of one directory (a request per thousand repositories). ':' never
// occurs in repository names, so the encoding is reversible. The index is
// built once from a walk of repositories/ when its "built" marker is absent
// (a bucket written by registry:2, or by a Berth before the index), by
// whichever replica first serves a catalog request. Repositories that
// registry:2 pushes into the bucket after that are indexed by the next
// upload purge, whose walk visits every repository anyway.

func catalogIndexPath() string { return path.Join(rootPath, "_berth", "catalog") }

func catalogIndexBuiltPath() string { return path.Join(rootPath, "_berth", "catalog-built") }

func catalogIndexEntry(name string) string {
	return path.Join(catalogIndexPath(), strings.ReplaceAll(name, "/", ":"))
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

// indexedRepositories lists the repositories in the index, building the
// index first when it has never been built.
func (s *Store) indexedRepositories(ctx context.Context) ([]string, error) {
	if err := s.buildIndex(ctx); err != nil {
		return nil, err
	}
	paths, err := s.d.List(ctx, catalogIndexPath())
	if errors.Is(err, driver.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, strings.ReplaceAll(path.Base(p), ":", "/"))
	}
	return names, nil
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
