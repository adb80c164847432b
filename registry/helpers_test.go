package registry_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthhq/berth/registry"
	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/filesystem"
	"github.com/berthhq/berth/storage/driver/inmemory"
)

// newServer starts the API over a fresh driver and returns its base URL
// and host ("127.0.0.1:port").
func newServer(t *testing.T, d driver.Driver, opts ...registry.Option) (base, host string) {
	t.Helper()
	st, err := storage.New(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts) == 0 {
		opts = []registry.Option{registry.WithDeleteEnabled(true)}
	}
	h, err := registry.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, strings.TrimPrefix(srv.URL, "http://")
}

func fsDriver(t *testing.T) driver.Driver {
	t.Helper()
	d, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// drivers lists the drivers every API test runs against.
var drivers = []struct {
	name string
	new  func(t *testing.T) driver.Driver
}{
	{"filesystem", fsDriver},
	{"inmemory", func(*testing.T) driver.Driver { return inmemory.New() }},
}
