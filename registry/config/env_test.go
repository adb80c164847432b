package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	const fsFile = "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /from/file\n"
	tests := []struct {
		name     string
		yaml     string
		env      []string
		check    func(c *Config) bool
		warnings []string
	}{
		{
			name:  "addr",
			yaml:  DefaultYAML(),
			env:   []string{"REGISTRY_HTTP_ADDR=127.0.0.1:0", "PATH=/bin"},
			check: func(c *Config) bool { return c.HTTP.Addr == "127.0.0.1:0" },
		},
		{
			name: "many",
			yaml: DefaultYAML(),
			env: []string{
				"REGISTRY_LOG_LEVEL=debug", "REGISTRY_LOG_FORMATTER=json", "REGISTRY_STORAGE_DELETE_ENABLED=false",
				"REGISTRY_HTTP_TLS_CERTIFICATE=/c.pem", "REGISTRY_HTTP_TLS_KEY=/k.pem",
				"REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE=2h", "REGISTRY_HTTP_DRAINTIMEOUT=1m",
			},
			check: func(c *Config) bool {
				return c.Log.Level == "debug" && c.Log.Formatter == "json" && !c.Storage.Delete.Enabled &&
					c.HTTP.TLS.Certificate == "/c.pem" && c.HTTP.TLS.Key == "/k.pem" &&
					c.Storage.Maintenance.UploadPurging.Age == 2*time.Hour && c.HTTP.DrainTimeout == time.Minute
			},
		},
		{
			name: "last value wins",
			yaml: DefaultYAML(),
			env:  []string{"REGISTRY_LOG_LEVEL=debug", "REGISTRY_LOG_LEVEL=error"},
			check: func(c *Config) bool {
				return c.Log.Level == "error"
			},
		},
		{
			name: "root directory selects filesystem",
			yaml: "version: 0.1\n",
			env:  []string{"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/registry"},
			check: func(c *Config) bool {
				return c.Storage.Driver == DriverFilesystem && c.Storage.Filesystem.RootDirectory == "/srv/registry"
			},
		},
		{
			name: "root directory overrides the file",
			yaml: fsFile,
			env:  []string{"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/srv/registry"},
			check: func(c *Config) bool {
				return c.Storage.Filesystem.RootDirectory == "/srv/registry"
			},
		},
		{
			name:  "REGISTRY_STORAGE replaces the driver",
			yaml:  fsFile,
			env:   []string{"REGISTRY_STORAGE=inmemory"},
			check: func(c *Config) bool { return c.Storage.Driver == DriverInMemory },
		},
		{
			name: "REGISTRY_STORAGE applies before driver parameters",
			yaml: minimal,
			env:  []string{"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/r", "REGISTRY_STORAGE=filesystem"},
			check: func(c *Config) bool {
				return c.Storage.Driver == DriverFilesystem && c.Storage.Filesystem.RootDirectory == "/r"
			},
		},
		{
			name:  "logstash",
			yaml:  minimal,
			env:   []string{"REGISTRY_LOG_FORMATTER=logstash"},
			check: func(c *Config) bool { return c.Log.Formatter == "json" },
			warnings: []string{
				"REGISTRY_LOG_FORMATTER: logstash is written as json",
			},
		},
		{
			name:  "ignored and unknown variables",
			yaml:  minimal,
			env:   []string{"REGISTRY_HTTP_SECRET=hunter2", "REGISTRY_PORT=tcp://10.0.0.1:5000", "REGISTRY_VERSION=2.8.3", "REGISTRY_HTTP_HEADERS_X=y", "REGISTRY_HTTP=x"},
			check: func(c *Config) bool { return c.Version == "0.1" },
			warnings: []string{
				"REGISTRY_HTTP: http is a section, not a value; ignored",
				"REGISTRY_HTTP_HEADERS_X: http.headers cannot be set from the environment; set it in the configuration file",
				"REGISTRY_HTTP_SECRET: ignored (http.secret): " + noSecret,
				"REGISTRY_PORT: not a registry configuration variable; ignored",
				"REGISTRY_VERSION: version is set in the configuration file only; ignored",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := Load(strings.NewReader(tt.yaml), tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q\nwant %q", warnings, tt.warnings)
			}
			for _, w := range warnings {
				if strings.Contains(w, "hunter2") {
					t.Errorf("warning %q shows a secret", w)
				}
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"level", DefaultYAML(), []string{"REGISTRY_LOG_LEVEL=loud"}, `REGISTRY_LOG_LEVEL: "loud" is not one of debug, info, warn, error`},
		{"bool", DefaultYAML(), []string{"REGISTRY_STORAGE_DELETE_ENABLED=sure"}, `REGISTRY_STORAGE_DELETE_ENABLED: "sure" is not true or false`},
		{"addr", DefaultYAML(), []string{"REGISTRY_HTTP_ADDR=localhost"}, `REGISTRY_HTTP_ADDR: "localhost" is not host:port`},
		{"duration", DefaultYAML(), []string{"REGISTRY_HTTP_DRAINTIMEOUT=30"}, `REGISTRY_HTTP_DRAINTIMEOUT: "30" is not a duration`},
		{"gcs", DefaultYAML(), []string{"REGISTRY_STORAGE=gcs"}, "REGISTRY_STORAGE: gcs storage is not supported; use filesystem or s3"},
		{"gcs parameter", DefaultYAML(), []string{"REGISTRY_STORAGE_GCS_BUCKET=b"}, "REGISTRY_STORAGE_GCS_BUCKET: gcs storage is not supported"},
		{"unknown driver", DefaultYAML(), []string{"REGISTRY_STORAGE=tape"}, `REGISTRY_STORAGE: "tape" is not one of filesystem, inmemory`},
		{"auth", DefaultYAML(), []string{"REGISTRY_AUTH=htpasswd"}, "REGISTRY_AUTH: basic authentication is not supported"},
		{"auth parameter", DefaultYAML(), []string{"REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd"}, "REGISTRY_AUTH_HTPASSWD_PATH: basic authentication is not supported"},
		{"parameter of another driver", minimal, []string{"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/r"},
			"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: configures the filesystem driver but storage uses inmemory; set REGISTRY_STORAGE=filesystem to switch"},
		{"filesystem without root", minimal, []string{"REGISTRY_STORAGE=filesystem"}, "storage.filesystem.rootdirectory: required"},
		{"version from env only", "", []string{"REGISTRY_VERSION=0.1", "REGISTRY_STORAGE=inmemory"}, "version: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(strings.NewReader(tt.yaml), tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestEnvDocumented keeps the list of variables in doc.go equal to the
// variables the schema accepts.
func TestEnvDocumented(t *testing.T) {
	var got []string
	var visit func(n *node, name string)
	visit = func(n *node, name string) {
		switch {
		case n.kind == leaf && !n.fileOnly:
			got = append(got, name)
		case n.kind == section:
			if n.choices != nil && !allRejected(n) {
				got = append(got, name)
			}
			for k, child := range n.keys {
				visit(child, name+"_"+strings.ToUpper(k))
			}
		}
	}
	l := newLoader()
	visit(l.schema(), "REGISTRY")
	slices.Sort(got)

	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, line := range strings.Split(string(doc), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "//")); len(f) > 0 && strings.HasPrefix(line, "//\tREGISTRY_") {
			documented = append(documented, f[0])
		}
	}
	slices.Sort(documented)
	if !reflect.DeepEqual(got, documented) {
		t.Errorf("schema variables %q\ndoc.go lists %q", got, documented)
	}
}

func allRejected(n *node) bool {
	for _, c := range n.choices {
		if n.keys[c].kind != rejected {
			return false
		}
	}
	return true
}
