// Package s3 is the storage driver for Amazon S3 and S3-compatible servers,
// on aws-sdk-go-v2 (the only package that imports it). Objects are laid out
// under the configured root directory exactly as registry:2's s3 driver
// lays them out, so an existing registry:2 bucket is served as is.
//
// Directories do not exist in S3: a directory is the set of keys below a
// prefix. An object being written by a Writer that was closed but not
// committed is an S3 multipart upload plus a small state object (state.go):
// Stat reports it with the size written so far (that is how any replica
// finds an upload's progress), while List, Walk, GetContent and Reader see
// it only once committed. A Writer that truncates (append false) removes
// the old object when it opens, as a file opened with O_TRUNC would.
package s3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/berthhq/berth/storage/driver"
)

const driverName = "s3"

// Driver stores objects in one S3 bucket.
type Driver struct {
	c       Config
	client  *s3.Client
	presign *s3.PresignClient
	bucket  *string
	// root is the key prefix of "/": RootDirectory plus "/", or "".
	root string
	// bufs recycles part buffers (*[]byte of capacity ChunkSize).
	bufs sync.Pool
	// lean, when set, makes small GETs and HEADs without the SDK.
	lean *lean
}

var (
	_ driver.Driver = (*Driver)(nil)
	_ driver.URLer  = (*Driver)(nil)
	_ driver.Purger = (*Driver)(nil)
	_ driver.Pager  = (*Driver)(nil)
)

// New returns a driver for the bucket c names. It does not contact S3;
// Check does.
func New(ctx context.Context, c Config) (*Driver, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 256
		t.ResponseHeaderTimeout = c.RequestTimeout
		if c.SkipVerify {
			if t.TLSClientConfig == nil {
				t.TLSClientConfig = &tls.Config{}
			}
			t.TLSClientConfig.InsecureSkipVerify = true
		}
	}).WithDialerOptions(func(d *net.Dialer) {
		d.Timeout = 10 * time.Second
		d.KeepAlive = 30 * time.Second
	})
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(c.Region),
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer {
			// Throttling, 5xx answers, timeouts and dropped connections
			// are retried with jittered exponential backoff. No retry
			// quota: under a burst of failures every request still gets
			// its attempts rather than failing at once.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.MaxAttempts
				o.MaxBackoff = c.MaxBackoff
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if c.AccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, c.SessionToken)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: loading AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = c.ForcePathStyle
		if c.RegionEndpoint != "" {
			o.BaseEndpoint = aws.String(c.RegionEndpoint)
		}
		// Checksums only where S3 demands them: the registry verifies
		// every blob's digest itself, and many S3-compatible servers do
		// not know the newer checksum headers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	d := &Driver{c: c, client: client, presign: s3.NewPresignClient(client), bucket: aws.String(c.Bucket)}
	if c.RootDirectory != "" {
		d.root = c.RootDirectory + "/"
	}
	if d.lean, err = newLean(c, cfg.Credentials, httpClient); err != nil {
		return nil, fmt.Errorf("s3: regionendpoint: %w", err)
	}
	return d, nil
}

// Check confirms the bucket exists and the credentials may use it. A
// missing bucket wraps driver.ErrNotFound and an S3 that does not answer
// wraps driver.ErrUnavailable; it tries once, without retries, so a
// misconfigured registry fails at start in seconds.
func (d *Driver) Check(ctx context.Context) error {
	_, err := d.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: d.bucket}, func(o *s3.Options) {
		o.RetryMaxAttempts = 1
	})
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return fmt.Errorf("s3: bucket %q: %w", d.c.Bucket, driver.ErrNotFound)
	case isUnavailable(err):
		return fmt.Errorf("s3: bucket %q: %w: %v", d.c.Bucket, driver.ErrUnavailable, shortErr(err))
	}
	return fmt.Errorf("s3: bucket %q: %v", d.c.Bucket, shortErr(err))
}

// shortErr is err without the SDK's request IDs: the API error's code and
// message when there is one.
func shortErr(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if status := httpStatus(err); status != 0 {
			return fmt.Sprintf("%s (HTTP %d)", ae.ErrorCode(), status)
		}
		return ae.ErrorCode()
	}
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return oe.Err.Error()
	}
	return err.Error()
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return driverName }

// key is the object key of a driver path; "/" maps to the root prefix.
func (d *Driver) key(p string) string {
	if p == "/" {
		return d.root
	}
	return d.root + p[1:]
}

// prefix is the key prefix of everything below the directory p.
func (d *Driver) prefix(p string) string {
	if p == "/" {
		return d.root
	}
	return d.root + p[1:] + "/"
}

// path is the driver path of an object key or common prefix.
func (d *Driver) path(key string) string {
	return "/" + strings.TrimSuffix(strings.TrimPrefix(key, d.root), "/")
}

// check validates p and ctx before any request is made.
func (d *Driver) check(ctx context.Context, p string) error {
	if err := driver.CheckPath(driverName, p); err != nil {
		return err
	}
	return ctx.Err()
}

// unsignedPayload skips hashing request bodies for the SigV4 signature:
// the registry hashes every blob once already, and over TLS the body is
// protected anyway. It halves the CPU a push costs.
var unsignedPayload = s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)

// pathErr turns an SDK error about p into the driver's error classes:
// ErrNotFound for absent keys, ErrUnavailable for what survived retries
// (throttling, 5xx, timeouts, dropped connections), the context's error
// when it ended.
func pathErr(ctx context.Context, op, p string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	perr := &driver.PathError{Op: op, Path: p, Driver: driverName, Err: err}
	switch {
	case isNotFound(err):
		perr.Err = driver.ErrNotFound
	case isUnavailable(err):
		perr.Err = fmt.Errorf("%w: %v", driver.ErrUnavailable, err)
	}
	return perr
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var le *leanError
	if errors.As(err, &le) {
		return le.status
	}
	return 0
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound") {
		return true
	}
	return httpStatus(err) == http.StatusNotFound
}

// isUnavailable reports whether err means S3 could not serve the request
// (rather than refused it): no response at all, throttling or a 5xx.
func isUnavailable(err error) bool {
	status := httpStatus(err)
	if status == 0 {
		return true // no HTTP response: connection refused, reset, timeout
	}
	if status >= 500 || status == http.StatusTooManyRequests {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed":
			return true
		}
	}
	return false
}

// objectParams are the settings every new object gets.
func (d *Driver) storageClass() types.StorageClass {
	if d.c.StorageClass == "NONE" {
		return ""
	}
	return types.StorageClass(d.c.StorageClass)
}

func (d *Driver) sse() (types.ServerSideEncryption, *string) {
	if !d.c.Encrypt {
		return "", nil
	}
	if d.c.KeyID != "" {
		return types.ServerSideEncryptionAwsKms, aws.String(d.c.KeyID)
	}
	return types.ServerSideEncryptionAes256, nil
}
