package s3

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Size limits S3 puts on multipart uploads.
const (
	// MinChunkSize is the smallest part S3 accepts but for the last one.
	MinChunkSize = 5 << 20
	// DefaultChunkSize is registry:2's default part size.
	DefaultChunkSize = 10 << 20
	// maxChunkSize is S3's largest part.
	maxChunkSize = 5 << 30
)

// Config is the driver's configuration, shaped like registry:2's
// storage.s3 section so that existing configurations keep their meaning.
type Config struct {
	// Bucket holds the registry's objects. Required.
	Bucket string
	// Region is the bucket's region; "us-east-1" when empty and
	// RegionEndpoint is set.
	Region string
	// RegionEndpoint is the URL of an S3-compatible server
	// ("http://127.0.0.1:9000"); empty means AWS.
	RegionEndpoint string
	// AccessKey and SecretKey are static credentials. When both are empty
	// the SDK's default chain is used (environment, shared config, IAM role).
	AccessKey, SecretKey string
	// SessionToken goes with temporary static credentials.
	SessionToken string
	// ForcePathStyle addresses the bucket as a path (host/bucket/key) rather
	// than a subdomain, as most S3-compatible servers need.
	ForcePathStyle bool
	// Secure selects https for an endpoint given without a scheme (default
	// true, as in registry:2). SkipVerify disables TLS verification.
	Secure     bool
	SkipVerify bool
	// RootDirectory prefixes every key ("" is the bucket's root).
	RootDirectory string
	// ChunkSize is the multipart part size: at least MinChunkSize.
	ChunkSize int64
	// StorageClass is the class of new objects ("STANDARD" when empty;
	// "NONE" leaves it to the bucket's default).
	StorageClass string
	// Encrypt asks for server-side encryption: aws:kms with KeyID when it
	// is set, AES256 otherwise.
	Encrypt bool
	KeyID   string
	// PartConcurrency bounds the parts one writer uploads at once
	// (default 4), and so its memory: PartConcurrency+1 chunks.
	PartConcurrency int
	// MaxAttempts is how many times a request is tried before its error
	// reaches the caller (default 5), with exponential backoff between.
	MaxAttempts int
	// MaxBackoff caps the wait between attempts (default 4s).
	MaxBackoff time.Duration
	// RequestTimeout bounds a single request's wait for response headers
	// (default 60s).
	RequestTimeout time.Duration
}

// withDefaults returns c with every zero field that has a default filled in,
// or an error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Bucket == "" {
		return c, errors.New("s3: bucket is required")
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return c, errors.New("s3: accesskey and secretkey must be given together")
	}
	if c.Region == "" {
		if c.RegionEndpoint == "" {
			return c, errors.New("s3: region is required without regionendpoint")
		}
		c.Region = "us-east-1"
	}
	if c.RegionEndpoint != "" && !strings.Contains(c.RegionEndpoint, "://") {
		scheme := "https://"
		if !c.Secure {
			scheme = "http://"
		}
		c.RegionEndpoint = scheme + c.RegionEndpoint
	}
	switch {
	case c.ChunkSize == 0:
		c.ChunkSize = DefaultChunkSize
	case c.ChunkSize < MinChunkSize || c.ChunkSize > maxChunkSize:
		return c, fmt.Errorf("s3: chunksize %d is outside [%d, %d]", c.ChunkSize, MinChunkSize, int64(maxChunkSize))
	}
	c.RootDirectory = strings.Trim(c.RootDirectory, "/")
	if c.StorageClass == "" {
		c.StorageClass = "STANDARD"
	}
	if c.PartConcurrency <= 0 {
		c.PartConcurrency = 4
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 4 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 60 * time.Second
	}
	return c, nil
}
