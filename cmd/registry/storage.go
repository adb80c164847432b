package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/berthhq/berth/registry/config"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/filesystem"
	"github.com/berthhq/berth/storage/driver/inmemory"
	"github.com/berthhq/berth/storage/driver/s3"
)

// blobRedirectExpiry is the lifetime of the presigned URLs blob GETs are
// redirected to, as registry:2's.
const blobRedirectExpiry = 20 * time.Minute

// s3CheckTimeout bounds the bucket check at start, retries included.
const s3CheckTimeout = 30 * time.Second

// newDriver returns the storage driver cfg selects. An S3 bucket is checked
// before it is returned: the registry does not start on a bucket it cannot
// use.
func newDriver(ctx context.Context, cfg config.Storage, log *slog.Logger) (driver.Driver, error) {
	switch cfg.Driver {
	case config.DriverFilesystem:
		d, err := filesystem.New(cfg.Filesystem.RootDirectory)
		if err != nil {
			return nil, fmt.Errorf("storage.filesystem.rootdirectory: %w", err)
		}
		log.Info("storage", "driver", d.Name(), "root", d.Root())
		return d, nil
	case config.DriverS3:
		return newS3Driver(ctx, cfg.S3, log)
	case config.DriverInMemory:
		log.Warn("inmemory storage: everything stored is lost when the registry stops")
		return inmemory.New(), nil
	default:
		return nil, fmt.Errorf("storage: unsupported driver %q", cfg.Driver)
	}
}

// newS3Driver builds the s3 driver and checks that its bucket exists and the
// credentials may use it. The error is one line naming the bucket and the
// endpoint.
func newS3Driver(ctx context.Context, c config.S3, log *slog.Logger) (*s3.Driver, error) {
	d, err := s3.New(ctx, s3Config(c))
	if err != nil {
		return nil, fmt.Errorf("storage.s3: %w", err)
	}
	endpoint := s3Endpoint(c)
	cctx, cancel := context.WithTimeout(ctx, s3CheckTimeout)
	defer cancel()
	if err := d.Check(cctx); err != nil {
		hint := "check bucket, region, regionendpoint and credentials"
		switch {
		case errors.Is(err, driver.ErrNotFound):
			hint = "the bucket does not exist; create it or fix storage.s3.bucket"
		case errors.Is(err, driver.ErrUnavailable):
			hint = "S3 did not answer; check storage.s3.regionendpoint and the network"
		}
		return nil, fmt.Errorf("storage.s3: cannot use bucket %q at %s (%s): %w", c.Bucket, endpoint, hint, err)
	}
	log.Info("storage", "driver", d.Name(), "bucket", c.Bucket, "endpoint", endpoint, "region", c.Region,
		"rootdirectory", c.RootDirectory, "redirect", c.Redirect)
	return d, nil
}

// s3Config translates the configuration into the driver's.
func s3Config(c config.S3) s3.Config {
	return s3.Config{
		Bucket:          c.Bucket,
		Region:          c.Region,
		RegionEndpoint:  c.RegionEndpoint,
		AccessKey:       c.AccessKey,
		SecretKey:       c.SecretKey,
		ForcePathStyle:  c.ForcePathStyle,
		Secure:          c.Secure,
		SkipVerify:      c.SkipVerify,
		RootDirectory:   c.RootDirectory,
		ChunkSize:       c.ChunkSize,
		StorageClass:    c.StorageClass,
		Encrypt:         c.Encrypt,
		KeyID:           c.KeyID,
		PartConcurrency: c.PartConcurrency,
	}
}

// s3Endpoint names where the bucket is, for logs and errors.
func s3Endpoint(c config.S3) string {
	if c.RegionEndpoint != "" {
		return c.RegionEndpoint
	}
	return "AWS region " + c.Region
}
