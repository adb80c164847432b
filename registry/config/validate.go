package config

import (
	"errors"
	"fmt"
)

// Validate checks c as Load would, so that a Config built or changed in code
// gets the same checks. The error joins one error per problem, each starting
// with the YAML key path it concerns.
func (c *Config) Validate() error {
	var errs []error
	check := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	check("version", checkVersion(c.Version))
	check("log.level", checkEnum(c.Log.Level, "debug", "info", "warn", "error"))
	check("log.formatter", checkEnum(c.Log.Formatter, "text", "json"))
	for k := range c.Log.Fields {
		if k == "" {
			check("log.fields", errors.New("empty field name"))
		}
	}
	errs = append(errs, c.Storage.validate()...)
	errs = append(errs, c.HTTP.validate()...)
	if c.Auth.Token != nil {
		errs = append(errs, c.Auth.Token.validate()...)
	}
	return errors.Join(errs...)
}

func (s *Storage) validate() []error {
	var errs []error
	switch s.Driver {
	case DriverFilesystem:
		if s.Filesystem.RootDirectory == "" {
			errs = append(errs, errors.New("storage.filesystem.rootdirectory: required"))
		}
	case DriverS3:
		errs = append(errs, s.S3.validate()...)
	case DriverInMemory:
	case "":
		errs = append(errs, errors.New("storage: no driver configured; add storage.filesystem.rootdirectory (or set REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY)"))
	default:
		errs = append(errs, fmt.Errorf("storage: %q is not one of filesystem, s3, inmemory", s.Driver))
	}
	if p := s.Maintenance.UploadPurging; p.Enabled {
		if p.Age <= 0 {
			errs = append(errs, errors.New("storage.maintenance.uploadpurging.age: must be positive when purging is enabled"))
		}
		if p.Interval <= 0 {
			errs = append(errs, errors.New("storage.maintenance.uploadpurging.interval: must be positive when purging is enabled"))
		}
	}
	return errs
}

func (c *S3) validate() []error {
	var errs []error
	check := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("storage.s3.%s: %w", key, err))
		}
	}
	if c.Bucket == "" {
		check("bucket", errors.New("required"))
	}
	if c.Region == "" && c.RegionEndpoint == "" {
		check("region", errors.New("required unless regionendpoint names an S3-compatible server"))
	}
	check("regionendpoint", checkEndpoint(c.RegionEndpoint))
	switch {
	case c.AccessKey != "" && c.SecretKey == "":
		check("secretkey", errors.New("required when storage.s3.accesskey is set"))
	case c.SecretKey != "" && c.AccessKey == "":
		check("accesskey", errors.New("required when storage.s3.secretkey is set"))
	}
	check("chunksize", checkChunkSize(c.ChunkSize))
	check("storageclass", checkStorageClass(c.StorageClass))
	check("partconcurrency", checkPartConcurrency(int64(c.PartConcurrency)))
	return errs
}

func (h *HTTP) validate() []error {
	var errs []error
	check := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	check("http.addr", checkAddr(h.Addr))
	check("http.net", checkNet(h.Net))
	if h.Host != "" {
		check("http.host", checkHost(h.Host))
	}
	if h.DrainTimeout < 0 {
		check("http.draintimeout", errors.New("must not be negative"))
	}
	switch {
	case h.TLS.Certificate != "" && h.TLS.Key == "":
		check("http.tls.key", errors.New("required when http.tls.certificate is set"))
	case h.TLS.Key != "" && h.TLS.Certificate == "":
		check("http.tls.certificate", errors.New("required when http.tls.key is set"))
	}
	check("http.tls.minimumtls", checkMinTLS(h.TLS.MinimumTLS))
	for k, vs := range h.Headers {
		check("http.headers", checkHeaderName(k))
		for _, v := range vs {
			check("http.headers."+k, checkHeaderValue(v))
		}
	}
	return errs
}
