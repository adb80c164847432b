package s3

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// lean makes the driver's most frequent requests, GETs and HEADs of small
// objects (links, tags, states), without the SDK's middleware stack: a
// request built, signed with the SDK's own SigV4 signer and sent on the
// SDK's HTTP client. In a manifest HEAD storm the stack (endpoint rules,
// user agent, checksum and retry middleware, allocations) was over 40% of
// the registry's CPU; a plain signed request costs a fraction. It is used
// for path-style requests to an explicit endpoint, the self-hosted case;
// requests to AWS itself, whose endpoints the SDK's rules resolve, keep
// the SDK.
type lean struct {
	base   url.URL // scheme and host of the endpoint
	bucket string
	region string
	creds  aws.CredentialsProvider
	hc     aws.HTTPClient
	signer *v4.Signer
	c      Config
}

// emptySHA256 is the SHA-256 of an empty payload, which GET and HEAD sign.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func newLean(c Config, creds aws.CredentialsProvider, hc aws.HTTPClient) (*lean, error) {
	if c.RegionEndpoint == "" || !c.ForcePathStyle {
		return nil, nil
	}
	u, err := url.Parse(c.RegionEndpoint)
	if err != nil {
		return nil, err
	}
	return &lean{base: url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(u.Path, "/")},
		bucket: c.Bucket, region: c.Region, creds: creds, hc: hc, signer: v4.NewSigner(), c: c}, nil
}

// leanError is an S3 error answer, or a failure to get one.
type leanError struct {
	status int
	code   string
	err    error // transport failure, when there was no answer
}

func (e *leanError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("HTTP %d %s", e.status, e.code)
}

func (e *leanError) Unwrap() error { return e.err }

// ErrorCode, ErrorMessage and ErrorFault make it a smithy.APIError.
func (e *leanError) ErrorCode() string    { return e.code }
func (e *leanError) ErrorMessage() string { return e.Error() }
func (e *leanError) ErrorFault() smithy.ErrorFault {
	if e.status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// do sends method for key and returns the response with its body read
// (HEAD: empty). 5xx, 429 and transport failures are retried with backoff,
// as the SDK would.
func (l *lean) do(ctx context.Context, method, key string) (*http.Response, []byte, error) {
	var last error
	for attempt := range l.c.MaxAttempts {
		if attempt > 0 {
			backoff := min(l.c.MaxBackoff, 50*time.Millisecond<<(attempt-1))
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(backoff/2 + rand.N(backoff/2+1)):
			}
		}
		resp, body, err := l.once(ctx, method, key)
		if err == nil {
			return resp, body, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if le, ok := err.(*leanError); ok && le.err == nil && le.status < 500 && le.status != http.StatusTooManyRequests {
			return nil, nil, err // an answer, not a failure
		}
	}
	return nil, nil, last
}

func (l *lean) once(ctx context.Context, method, key string) (*http.Response, []byte, error) {
	u := l.base
	u.Path = u.Path + "/" + l.bucket + "/" + key
	u.RawPath = escapePath(u.Path)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	creds, err := l.creds.Retrieve(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := l.signer.SignHTTP(ctx, creds, req, emptySHA256, "s3", l.region, time.Now(), func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = true
	}); err != nil {
		return nil, nil, err
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return nil, nil, &leanError{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, &leanError{err: err}
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, &leanError{status: resp.StatusCode, code: errorCode(resp.StatusCode, body)}
	}
	return resp, body, nil
}

// errorCode is the <Code> of an S3 error body; a HEAD's has none.
func errorCode(status int, body []byte) string {
	var e struct{ Code string }
	if xml.NewDecoder(bytes.NewReader(body)).Decode(&e) == nil && e.Code != "" {
		return e.Code
	}
	if status == http.StatusNotFound {
		return "NotFound"
	}
	return http.StatusText(status)
}

// escapePath percent-encodes p as SigV4 and S3 want: everything but the
// unreserved characters and '/'.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// object is what a GET or HEAD tells of an object.
type object struct {
	body    []byte // GET only
	size    int64
	modTime time.Time
	meta    map[string]string // x-amz-meta-*, keys lowercased
}

// getObject reads the whole (small) object at key.
func (d *Driver) getObject(ctx context.Context, key string) (object, error) {
	if d.lean != nil {
		resp, body, err := d.lean.do(ctx, http.MethodGet, key)
		if err != nil {
			return object{}, err
		}
		o := leanObject(resp)
		o.body, o.size = body, int64(len(body))
		return o, nil
	}
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: d.bucket, Key: aws.String(key)})
	if err != nil {
		return object{}, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return object{}, err
	}
	return object{body: body, size: int64(len(body)), modTime: aws.ToTime(out.LastModified), meta: out.Metadata}, nil
}

// headObject describes the object at key.
func (d *Driver) headObject(ctx context.Context, key string) (object, error) {
	if d.lean != nil {
		resp, _, err := d.lean.do(ctx, http.MethodHead, key)
		if err != nil {
			return object{}, err
		}
		return leanObject(resp), nil
	}
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: d.bucket, Key: aws.String(key)})
	if err != nil {
		return object{}, err
	}
	return object{size: aws.ToInt64(out.ContentLength), modTime: aws.ToTime(out.LastModified), meta: out.Metadata}, nil
}

func leanObject(resp *http.Response) object {
	o := object{size: resp.ContentLength, meta: map[string]string{}}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		o.modTime = t
	}
	for k, v := range resp.Header {
		if m, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok && len(v) > 0 {
			o.meta[m] = v[0]
		}
	}
	return o
}
