package config

import (
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func loadFile(t *testing.T, path string, env []string) (*Config, []string, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return Load(f, env)
}

func TestDefault(t *testing.T) {
	want := &Config{
		Version: "0.1",
		Log:     Log{Level: "info", Formatter: "text"},
		Storage: Storage{
			Driver:     DriverFilesystem,
			Filesystem: Filesystem{RootDirectory: "./data"},
			S3:         S3{Secure: true},
			Delete:     Delete{Enabled: true},
			Maintenance: Maintenance{UploadPurging: UploadPurging{
				Enabled: true, Age: 168 * time.Hour, Interval: 24 * time.Hour,
			}},
		},
		HTTP: HTTP{Addr: "127.0.0.1:5000", Net: "tcp", DrainTimeout: 30 * time.Second},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default() = %+v\nwant %+v", got, want)
	}
	if _, warnings, err := Load(strings.NewReader(DefaultYAML()), nil); err != nil || len(warnings) != 0 {
		t.Errorf("Load(DefaultYAML()) warnings %q, error %v", warnings, err)
	}
}

func TestLoadFiles(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		check    func(t *testing.T, c *Config)
		warnings []string
	}{
		{
			name: "registry:2 image config",
			file: "testdata/registry2.yml",
			check: func(t *testing.T, c *Config) {
				if c.Storage.Driver != DriverFilesystem || c.Storage.Filesystem.RootDirectory != "/var/lib/registry" {
					t.Errorf("storage = %+v", c.Storage)
				}
				if c.HTTP.Addr != ":5000" || c.Storage.Delete.Enabled {
					t.Errorf("addr %q, delete %v; want :5000, false", c.HTTP.Addr, c.Storage.Delete.Enabled)
				}
				if got := c.HTTP.Headers.Values("X-Content-Type-Options"); !reflect.DeepEqual(got, []string{"nosniff"}) {
					t.Errorf("headers = %v", c.HTTP.Headers)
				}
				if c.Log.Fields["service"] != "registry" || c.Log.Level != "info" || c.Log.Formatter != "text" {
					t.Errorf("log = %+v", c.Log)
				}
			},
			warnings: []string{
				"storage.cache: ignored: Berth keeps no blob descriptor cache",
				"health: ignored: health checks are not configurable; GET /healthz reports health",
			},
		},
		{
			name: "every supported key",
			file: "testdata/full.yml",
			check: func(t *testing.T, c *Config) {
				want := &Config{
					Version: "0.1",
					Log: Log{Level: "debug", Formatter: "json",
						Fields: map[string]string{"service": "registry", "environment": "staging"}},
					Storage: Storage{
						Driver: DriverInMemory,
						S3:     S3{Secure: true},
						Delete: Delete{Enabled: true},
						Maintenance: Maintenance{UploadPurging: UploadPurging{
							Age: 72 * time.Hour, Interval: time.Hour, DryRun: true,
						}},
					},
					HTTP: HTTP{
						Addr: "0.0.0.0:443", Net: "tcp", Host: "https://registry.example.com",
						DrainTimeout: 5 * time.Second,
						TLS:          TLS{Certificate: "/certs/tls.crt", Key: "/certs/tls.key", MinimumTLS: "tls1.3"},
						Headers: http.Header{
							"X-Content-Type-Options":    {"nosniff"},
							"Strict-Transport-Security": {"max-age=31536000", "includeSubDomains"},
						},
					},
					Auth: Auth{Token: &Token{
						Realm:          "https://registry.example.com/token",
						Service:        "registry.example.com",
						Issuer:         "berth-issuer",
						HTPasswd:       "/etc/berth/htpasswd",
						SigningKey:     "/etc/berth/token.key",
						RootCertBundle: "/etc/berth/certs.pem",
						JWKS:           "/etc/berth/jwks.json",
						Expiration:     15 * time.Minute,
						Catalog:        "anyone",
						Groups:         map[string][]string{"admins": {"alice", "bob"}, "nobody": {}},
						ACL: []ACLRule{
							{Account: "alice", Name: "alice/*", Actions: []string{"pull", "push", "delete"}},
							{Account: "group:admins", Name: "**", Actions: []string{"*"}},
							{Account: "${account}", Name: "${account}/**", Actions: []string{"pull", "push"}},
						},
					}},
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := loadFile(t, tt.file, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q\nwant %q", warnings, tt.warnings)
			}
		})
	}
}

const minimal = "version: 0.1\nstorage:\n  inmemory:\n"

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error
	}{
		{"misspelled key", "version: 0.1\nstorage:\n  filesystem:\n    rootdir: /x\n",
			[]string{"storage.filesystem.rootdir: unknown key (line 4); did you mean rootdirectory?"}},
		{"unknown top-level key", minimal + "htpp:\n  addr: :5000\n",
			[]string{"htpp: unknown key (line 4); did you mean http?"}},
		{"unknown key, nothing close", minimal + "frobnicate: 1\n", []string{"frobnicate: unknown key (line 4)"}},
		{"unknown key in inmemory", "version: 0.1\nstorage:\n  inmemory:\n    size: 1\n", []string{"storage.inmemory.size: unknown key"}},
		{"invalid level", minimal + "log:\n  level: loud\n",
			[]string{`log.level: "loud" is not one of debug, info, warn, error (line 5)`}},
		{"invalid formatter", minimal + "log:\n  formatter: xml\n", []string{`log.formatter: "xml" is not one of text, json, logstash`}},
		{"invalid bool", minimal + "  delete:\n    enabled: maybe\n", []string{`storage.delete.enabled: "maybe" is not true or false (line 5)`}},
		{"invalid duration", minimal + "  maintenance:\n    uploadpurging:\n      age: a week\n",
			[]string{`storage.maintenance.uploadpurging.age: "a week" is not a duration`}},
		{"negative duration", minimal + "http:\n  draintimeout: -1s\n", []string{`http.draintimeout: "-1s" is not a duration`}},
		{"invalid addr", minimal + "http:\n  addr: 5000\n", []string{`http.addr: "5000" is not host:port`}},
		{"unix socket", minimal + "http:\n  net: unix\n", []string{`http.net: "unix" is not supported; use tcp`}},
		{"relative host", minimal + "http:\n  host: registry.example.com\n", []string{`http.host: "registry.example.com" is not an absolute URL`}},
		{"old tls", minimal + "http:\n  tls:\n    minimumtls: tls1.0\n", []string{`http.tls.minimumtls: "tls1.0" is not supported`}},
		{"certificate without key", minimal + "http:\n  tls:\n    certificate: /c\n", []string{"http.tls.key: required when http.tls.certificate is set"}},
		{"bad header value", minimal + "http:\n  headers:\n    X-A: nosniff\n", []string{"http.headers.X-A: must be a list of values"}},
		{"bad header name", minimal + "http:\n  headers:\n    \"X A\": [b]\n", []string{`http.headers.X A: "X A" is not a valid header name`}},
		{"wrong version", "version: 0.2\nstorage: inmemory\n", []string{`version: "0.2" is not supported; use 0.1`}},
		{"no version", "storage: inmemory\n", []string{"version: required"}},
		{"empty file", "", []string{"version: required"}},
		{"no storage", "version: 0.1\n", []string{"storage: no driver configured"}},
		{"two drivers", "version: 0.1\nstorage:\n  inmemory:\n  filesystem:\n    rootdirectory: /x\n",
			[]string{"storage: exactly one driver must be configured, found inmemory, filesystem"}},
		{"s3 as a value", "version: 0.1\nstorage: s3\n", []string{"storage.s3.bucket: required", "storage.s3.region: required"}},
		{"gcs", "version: 0.1\nstorage:\n  gcs:\n    bucket: b\n", []string{"storage.gcs: gcs storage is not supported; use filesystem or s3 (line 3)"}},
		{"unknown driver", "version: 0.1\nstorage: floppy\n", []string{`storage: "floppy" is not one of filesystem, inmemory, s3`}},
		{"empty rootdirectory", "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory:\n", []string{"storage.filesystem.rootdirectory: must not be empty"}},
		{"auth", minimal + "auth:\n  htpasswd:\n    realm: r\n    path: /p\n", []string{"auth.htpasswd: basic authentication is not supported", "set auth.token.htpasswd"}},
		{"readonly", minimal + "  maintenance:\n    readonly:\n      enabled: true\n", []string{"storage.maintenance.readonly.enabled: read-only mode is not supported yet"}},
		{"client certificates", minimal + "http:\n  tls:\n    clientcas: [/ca.pem]\n", []string{"http.tls.clientcas: client certificate authentication is not supported yet"}},
		{"proxy", minimal + "proxy:\n  remoteurl: https://registry-1.docker.io\n", []string{"proxy: the pull-through cache (proxy) is not supported yet"}},
		{"section given a value", minimal + "http: yes\n", []string{"http: must be a mapping of keys to values (line 4)"}},
		{"value given a mapping", minimal + "log:\n  level:\n    x: y\n", []string{"log.level: must be a single value (line 6)"}},
		{"repeated key", minimal + "log:\n  level: info\n  level: debug\n", []string{"log.level: repeated key (line 6; first on line 5)"}},
		{"two documents", minimal + "---\nversion: 0.1\n", []string{"only one YAML document is allowed"}},
		{"not yaml", "version: [0.1\n", []string{"config: yaml:"}},
		{"every problem at once", "version: 0.1\nstorage:\n  filesystem:\n    rootdir: /x\nlog:\n  level: loud\n",
			[]string{"storage.filesystem.rootdir: unknown key", `log.level: "loud"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(strings.NewReader(tt.yaml), nil)
			if err == nil {
				t.Fatalf("Load succeeded with %+v; want an error", c)
			}
			if c != nil {
				t.Errorf("Load returned a config with error %v", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"logstash", minimal + "log:\n  formatter: logstash\n", []string{"log.formatter: logstash is written as json"}},
		{"deprecated loglevel", minimal + "loglevel: debug\n", []string{"loglevel: deprecated; use log.level"}},
		{"http extras", minimal + "http:\n  prefix: /reg\n  secret: s3cr3t\n  debug:\n    addr: :5001\n",
			[]string{
				"http.prefix: ignored: Berth serves the API at /v2/ only",
				"http.secret: ignored: " + noSecret,
				"http.debug: ignored: the debug server is not supported",
			}},
		{"sections", minimal + "  redirect:\n    disable: true\nnotifications:\n  endpoints: []\nredis:\n  addr: r:6379\n",
			[]string{
				"notifications: ignored: notifications are not supported",
				"redis: ignored: Berth does not use redis",
				"storage.redirect: ignored: only s3 storage redirects; Berth serves inmemory blobs itself",
			}},
		{"empty auth", minimal + "auth:\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := Load(strings.NewReader(tt.yaml), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(warnings, tt.want) {
				t.Errorf("warnings = %q\nwant %q", warnings, tt.want)
			}
		})
	}
}

func TestLoadLevels(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"deprecated loglevel used", minimal + "loglevel: warn\n", "warn"},
		{"log.level wins over loglevel", minimal + "loglevel: warn\nlog:\n  level: error\n", "error"},
		{"upper case", minimal + "log:\n  level: ERROR\n", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(strings.NewReader(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Log.Level != tt.want {
				t.Errorf("log.level = %q, want %q", c.Log.Level, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"default", func(*Config) {}, ""},
		{"level", func(c *Config) { c.Log.Level = "trace" }, `log.level: "trace" is not one of`},
		{"logstash is only accepted in files", func(c *Config) { c.Log.Formatter = "logstash" }, `log.formatter: "logstash" is not one of text, json`},
		{"no driver", func(c *Config) { c.Storage.Driver = "" }, "storage: no driver configured"},
		{"unknown driver", func(c *Config) { c.Storage.Driver = "gcs" }, `storage: "gcs" is not one of filesystem, s3, inmemory`},
		{"no root", func(c *Config) { c.Storage.Filesystem.RootDirectory = "" }, "storage.filesystem.rootdirectory: required"},
		{"inmemory needs no root", func(c *Config) {
			c.Storage.Driver, c.Storage.Filesystem.RootDirectory = DriverInMemory, ""
		}, ""},
		{"zero purge age", func(c *Config) { c.Storage.Maintenance.UploadPurging.Age = 0 }, "uploadpurging.age: must be positive"},
		{"zero age without purging", func(c *Config) {
			c.Storage.Maintenance.UploadPurging = UploadPurging{}
		}, ""},
		{"addr", func(c *Config) { c.HTTP.Addr = "" }, `http.addr: "" is not host:port`},
		{"key without certificate", func(c *Config) { c.HTTP.TLS.Key = "k" }, "http.tls.certificate: required when http.tls.key is set"},
		{"header value", func(c *Config) { c.HTTP.Headers = http.Header{"X-A": {"a\r\nb"}} }, "http.headers.X-A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
