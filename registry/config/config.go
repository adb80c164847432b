package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// defaultYAML is Berth's built-in configuration (default.yml): what
// `registry serve` uses when no --config is given.
//
//go:embed default.yml
var defaultYAML string

// maxSize bounds the configuration file Load reads.
const maxSize = 1 << 20

// Config is the registry's configuration after the file and the REGISTRY_*
// environment overrides have been applied. Field comments name the YAML key.
type Config struct {
	// Version is "version"; always "0.1".
	Version string
	Log     Log
	Storage Storage
	HTTP    HTTP
	Auth    Auth
}

// Log is the "log" section.
type Log struct {
	// Level is "log.level": debug, info, warn or error.
	Level string
	// Formatter is "log.formatter": text or json ("logstash" loads as json).
	Formatter string
	// Fields is "log.fields": static attributes added to every log record.
	Fields map[string]string
}

// Driver names a storage driver.
type Driver string

// The storage drivers Berth supports.
const (
	DriverFilesystem Driver = "filesystem"
	DriverInMemory   Driver = "inmemory"
	DriverS3         Driver = "s3"
)

// Storage is the "storage" section.
type Storage struct {
	// Driver is the one driver section present ("storage.filesystem",
	// "storage.s3" or "storage.inmemory").
	Driver Driver
	// Filesystem holds the "storage.filesystem" parameters; used when Driver
	// is DriverFilesystem.
	Filesystem Filesystem
	// S3 holds the "storage.s3" parameters; used when Driver is DriverS3.
	S3 S3
	// Redirect is "storage.redirect".
	Redirect Redirect
	// Delete is "storage.delete".
	Delete Delete
	// Maintenance is "storage.maintenance".
	Maintenance Maintenance
}

// Filesystem is "storage.filesystem".
type Filesystem struct {
	// RootDirectory is "storage.filesystem.rootdirectory".
	RootDirectory string
}

// S3 is "storage.s3": registry:2's keys with their meaning, plus Berth's
// redirect and partconcurrency.
type S3 struct {
	// Bucket is "storage.s3.bucket". Required.
	Bucket string
	// Region is "storage.s3.region". Required unless RegionEndpoint is set.
	Region string
	// RegionEndpoint is "storage.s3.regionendpoint": the URL of an
	// S3-compatible server; empty means AWS.
	RegionEndpoint string
	// AccessKey and SecretKey are "storage.s3.accesskey" and
	// "storage.s3.secretkey": both or neither. Neither: the AWS SDK's
	// default credential chain (environment, shared files, instance role).
	AccessKey, SecretKey string
	// ForcePathStyle is "storage.s3.forcepathstyle": address the bucket as
	// a path rather than a host name, as most S3-compatible servers need.
	ForcePathStyle bool
	// Secure is "storage.s3.secure": https for a regionendpoint written
	// without a scheme; true when absent.
	Secure bool
	// SkipVerify is "storage.s3.skipverify": skip TLS verification.
	SkipVerify bool
	// RootDirectory is "storage.s3.rootdirectory": the key prefix.
	RootDirectory string
	// ChunkSize is "storage.s3.chunksize": the multipart part size in
	// bytes, at least MinS3ChunkSize; 0 means the driver's default (10 MiB).
	ChunkSize int64
	// StorageClass is "storage.s3.storageclass" (STANDARD when empty; NONE
	// leaves it to the bucket).
	StorageClass string
	// Encrypt and KeyID are "storage.s3.encrypt" and "storage.s3.keyid":
	// server-side encryption, with that KMS key when KeyID is set.
	Encrypt bool
	KeyID   string
	// Redirect is "storage.s3.redirect" (Berth's): answer blob GETs with a
	// 307 to a presigned URL. False when absent; see Storage.RedirectEnabled.
	Redirect bool
	// PartConcurrency is "storage.s3.partconcurrency" (Berth's): parts one
	// upload sends at once; 0 means the driver's default (4).
	PartConcurrency int
}

// Chunk sizes S3 accepts for multipart parts.
const (
	MinS3ChunkSize = 5 << 20
	MaxS3ChunkSize = 5 << 30
)

// Redirect is "storage.redirect", registry:2's switch for redirects.
type Redirect struct {
	// Disable is "storage.redirect.disable": true turns redirects off even
	// with storage.s3.redirect.
	Disable bool
}

// RedirectEnabled reports whether blob GETs are to be redirected to the
// storage backend: only with s3 storage, storage.s3.redirect true and
// storage.redirect.disable not true. Off by default, unlike registry:2:
// clients in restricted networks often cannot reach the bucket.
func (s Storage) RedirectEnabled() bool {
	return s.Driver == DriverS3 && s.S3.Redirect && !s.Redirect.Disable
}

// Delete is "storage.delete".
type Delete struct {
	// Enabled is "storage.delete.enabled": allow DELETE of manifests, tags
	// and blobs. False when absent, as in registry:2.
	Enabled bool
}

// Maintenance is "storage.maintenance".
type Maintenance struct {
	UploadPurging UploadPurging
}

// UploadPurging is "storage.maintenance.uploadpurging": removal of
// abandoned uploads.
type UploadPurging struct {
	// Enabled is "...uploadpurging.enabled"; true when absent.
	Enabled bool
	// Age is "...uploadpurging.age": uploads older than this are purged;
	// 168h when absent.
	Age time.Duration
	// Interval is "...uploadpurging.interval": how often to look; 24h when
	// absent.
	Interval time.Duration
	// DryRun is "...uploadpurging.dryrun": log what would be purged only.
	DryRun bool
}

// HTTP is the "http" section.
type HTTP struct {
	// Addr is "http.addr", host:port; 127.0.0.1:5000 when absent.
	Addr string
	// Net is "http.net"; only "tcp".
	Net string
	// Host is "http.host": the externally reachable URL of the registry.
	Host string
	// DrainTimeout is "http.draintimeout": how long shutdown waits for
	// in-flight requests; 30s when absent.
	DrainTimeout time.Duration
	TLS          TLS
	// Headers is "http.headers": headers set on every response, with
	// canonical names.
	Headers http.Header
}

// TLS is "http.tls". TLS is on when Certificate and Key are set.
type TLS struct {
	// Certificate is "http.tls.certificate": a PEM certificate (chain) file.
	Certificate string
	// Key is "http.tls.key": the PEM private key file.
	Key string
	// MinimumTLS is "http.tls.minimumtls": "tls1.2" or "tls1.3"; empty means
	// Go's default (TLS 1.2).
	MinimumTLS string
}

// Enabled reports whether the server should serve TLS.
func (t TLS) Enabled() bool { return t.Certificate != "" || t.Key != "" }

// base returns the values a configuration file starts from: the registry:2
// behaviour where it has one, Berth's safe choice where it does not.
func base() *Config {
	return &Config{
		Log: Log{Level: "info", Formatter: "text"},
		Storage: Storage{
			S3: S3{Secure: true},
			Maintenance: Maintenance{UploadPurging: UploadPurging{
				Enabled: true, Age: 168 * time.Hour, Interval: 24 * time.Hour,
			}},
		},
		HTTP: HTTP{Addr: "127.0.0.1:5000", Net: "tcp", DrainTimeout: 30 * time.Second},
	}
}

// DefaultYAML returns the text of the built-in configuration: filesystem
// storage in ./data, 127.0.0.1:5000, delete enabled, info logs as text.
func DefaultYAML() string { return defaultYAML }

// Default returns the built-in configuration (DefaultYAML) without
// environment overrides. `registry serve` without --config loads
// DefaultYAML with the environment instead.
func Default() *Config {
	c, _, err := Load(strings.NewReader(defaultYAML), nil)
	if err != nil {
		// default.yml is compiled in and covered by tests.
		panic("config: built-in default.yml is invalid: " + err.Error())
	}
	return c
}

// Load reads a registry:2-style YAML configuration from r, applies the
// REGISTRY_* overrides found in env (entries "NAME=value", as from
// os.Environ) and validates the result.
//
// Warnings name keys and variables that registry:2 knows but Berth ignores;
// the caller logs them. They are returned even when err is not nil. The error
// joins one error per problem, each naming the key path (with its line) or
// the environment variable.
func Load(r io.Reader, env []string) (*Config, []string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("config: read: %w", err)
	}
	if len(data) > maxSize {
		return nil, nil, fmt.Errorf("config: larger than %d bytes", maxSize)
	}
	doc, err := parseDocument(data)
	if err != nil {
		return nil, nil, err
	}
	l := newLoader()
	root := l.schema()
	if doc != nil {
		l.walk(root, doc, "", doc.Line)
	}
	l.finishFile()
	l.applyEnv(root, env)
	l.finish()
	if err := l.err(); err != nil {
		return nil, l.warnings, err
	}
	if err := l.cfg.Validate(); err != nil {
		return nil, l.warnings, err
	}
	return l.cfg, l.warnings, nil
}

// parseDocument returns the top-level node of the single YAML document in
// data, or nil when data holds no document.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	default:
		return nil, fmt.Errorf("config: line %d: only one YAML document is allowed", extra.Line)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}
