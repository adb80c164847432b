package s3

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/berthhq/berth/storage/driver"
)

// GetContent implements driver.Driver.
func (d *Driver) GetContent(ctx context.Context, p string) ([]byte, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	if p == "/" {
		return nil, &driver.PathError{Op: "get", Path: p, Driver: driverName, Err: driver.ErrNotFound}
	}
	o, err := d.getObject(ctx, d.key(p))
	if err != nil {
		return nil, pathErr(ctx, "get", p, err)
	}
	return o.body, nil
}

// PutContent implements driver.Driver. A PutObject is atomic in S3.
func (d *Driver) PutContent(ctx context.Context, p string, content []byte) error {
	if err := d.check(ctx, p); err != nil {
		return err
	}
	return pathErr(ctx, "put", p, d.putObject(ctx, d.key(p), content, nil))
}

func (d *Driver) putObject(ctx context.Context, key string, content []byte, meta map[string]string) error {
	sse, kms := d.sse()
	_, err := d.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               d.bucket,
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(content),
		ContentLength:        aws.Int64(int64(len(content))),
		ContentType:          aws.String("application/octet-stream"),
		StorageClass:         d.storageClass(),
		ServerSideEncryption: sse,
		SSEKMSKeyId:          kms,
		Metadata:             meta,
	}, unsignedPayload)
	return err
}

// Reader implements driver.Driver with a ranged GetObject.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, &driver.InvalidOffsetError{Path: p, Offset: offset, Driver: driverName}
	}
	if p == "/" {
		return nil, &driver.PathError{Op: "read", Path: p, Driver: driverName, Err: driver.ErrNotFound}
	}
	in := &s3.GetObjectInput{Bucket: d.bucket, Key: aws.String(d.key(p))}
	if offset > 0 {
		in.Range = aws.String("bytes=" + strconv.FormatInt(offset, 10) + "-")
	}
	out, err := d.client.GetObject(ctx, in)
	if err == nil {
		return out.Body, nil
	}
	if httpStatus(err) != http.StatusRequestedRangeNotSatisfiable {
		return nil, pathErr(ctx, "read", p, err)
	}
	// S3 refuses a range starting at the end; that is an empty read.
	head, herr := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: d.bucket, Key: aws.String(d.key(p))})
	if herr != nil {
		return nil, pathErr(ctx, "read", p, herr)
	}
	if aws.ToInt64(head.ContentLength) == offset {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	return nil, &driver.InvalidOffsetError{Path: p, Offset: offset, Driver: driverName}
}

// Stat implements driver.Driver. An object being written by a Writer (not
// yet committed) is reported with the size written so far, which is how an
// upload's progress is found by whichever process serves its next request.
func (d *Driver) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	if p == "/" {
		return driver.FileInfoFields{FPath: p, FIsDir: true}, nil
	}
	head, err := d.headObject(ctx, d.key(p))
	if err == nil {
		return driver.FileInfoFields{FPath: p, FSize: head.size, FModTime: head.modTime}, nil
	}
	if !isNotFound(err) {
		return nil, pathErr(ctx, "stat", p, err)
	}
	// Not an object: a pending one (an upload's data between chunks, the
	// usual case here), else a directory.
	st, err := d.loadState(ctx, p, false)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return driver.FileInfoFields{FPath: p, FSize: st.size, FModTime: st.modTime}, nil
	}
	list, err := d.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: d.bucket, Prefix: aws.String(d.prefix(p)), MaxKeys: aws.Int32(1)})
	if err != nil {
		return nil, pathErr(ctx, "stat", p, err)
	}
	if len(list.Contents) > 0 {
		return driver.FileInfoFields{FPath: p, FIsDir: true}, nil
	}
	return nil, &driver.PathError{Op: "stat", Path: p, Driver: driverName, Err: driver.ErrNotFound}
}

// URLFor implements driver.URLer with a presigned GET.
func (d *Driver) URLFor(ctx context.Context, p string, expiry time.Duration) (string, error) {
	if err := d.check(ctx, p); err != nil {
		return "", err
	}
	req, err := d.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: d.bucket, Key: aws.String(d.key(p))},
		s3.WithPresignExpires(expiry))
	if err != nil {
		return "", pathErr(ctx, "presign", p, err)
	}
	return req.URL, nil
}

// Move implements driver.Driver with a server-side copy and a delete. The
// destination appears whole when the copy completes; the data never passes
// through the registry.
func (d *Driver) Move(ctx context.Context, source, dest string) error {
	if err := d.check(ctx, source); err != nil {
		return err
	}
	if err := d.check(ctx, dest); err != nil {
		return err
	}
	if err := d.copy(ctx, d.key(source), d.key(dest)); err != nil {
		return pathErr(ctx, "move", source, err)
	}
	_, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: d.bucket, Key: aws.String(d.key(source))})
	if err != nil && !isNotFound(err) {
		return pathErr(ctx, "move", source, err)
	}
	return nil
}
