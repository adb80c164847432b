package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Objects up to copyThreshold are copied with one CopyObject; larger ones
// with parallel UploadPartCopy requests, which S3 (and versitygw: 1 GiB in
// ~2 s against ~3.5 s) serves faster than one long copy.
const (
	copyThreshold   = 128 << 20
	copyPartSize    = 32 << 20
	copyConcurrency = 8
)

func (d *Driver) createUpload(ctx context.Context, key string) (string, error) {
	sse, kms := d.sse()
	out, err := d.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:               d.bucket,
		Key:                  aws.String(key),
		ContentType:          aws.String("application/octet-stream"),
		StorageClass:         d.storageClass(),
		ServerSideEncryption: sse,
		SSEKMSKeyId:          kms,
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.UploadId), nil
}

func (d *Driver) uploadPart(ctx context.Context, key, uploadID string, n int32, b []byte) error {
	_, err := d.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        d.bucket,
		Key:           aws.String(key),
		UploadId:      aws.String(uploadID),
		PartNumber:    aws.Int32(n),
		Body:          bytes.NewReader(b),
		ContentLength: aws.Int64(int64(len(b))),
	}, unsignedPayload)
	return err
}

// complete finishes the multipart upload with its parts 1..last, as S3
// lists them (a part uploaded twice counts with its latest ETag).
func (d *Driver) complete(ctx context.Context, key, uploadID string, last int32) error {
	var parts []types.CompletedPart
	pager := s3.NewListPartsPaginator(d.client, &s3.ListPartsInput{Bucket: d.bucket, Key: aws.String(key), UploadId: aws.String(uploadID)})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, p := range page.Parts {
			if n := aws.ToInt32(p.PartNumber); n >= 1 && n <= last {
				parts = append(parts, types.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag})
			}
		}
	}
	sort.Slice(parts, func(i, j int) bool { return *parts[i].PartNumber < *parts[j].PartNumber })
	if len(parts) != int(last) {
		return fmt.Errorf("multipart upload %s of %s has %d of its %d parts", uploadID, key, len(parts), last)
	}
	_, err := d.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: d.bucket, Key: aws.String(key), UploadId: aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

func (d *Driver) abort(ctx context.Context, key, uploadID string) error {
	_, err := d.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: d.bucket, Key: aws.String(key), UploadId: aws.String(uploadID),
	})
	var nsu *types.NoSuchUpload
	if err != nil && (errors.As(err, &nsu) || isNotFound(err)) {
		return nil
	}
	return err
}

// abortUploads aborts the multipart uploads of keys starting with prefix
// (those started before *before, when before is set) and returns how many.
func (d *Driver) abortUploads(ctx context.Context, prefix string, before *time.Time) (int, error) {
	n := 0
	in := &s3.ListMultipartUploadsInput{Bucket: d.bucket, Prefix: aws.String(prefix)}
	for {
		out, err := d.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return n, err
		}
		for _, u := range out.Uploads {
			key := aws.ToString(u.Key)
			if !strings.HasPrefix(key, prefix) || (before != nil && !aws.ToTime(u.Initiated).Before(*before)) {
				continue
			}
			if err := d.abort(ctx, key, aws.ToString(u.UploadId)); err != nil {
				return n, err
			}
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			return n, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// PurgeWrites aborts the multipart uploads below the root directory that
// were started before olderThan: writes abandoned by a process that died,
// which S3 would otherwise keep (and bill) forever. It implements
// driver.Purger.
func (d *Driver) PurgeWrites(ctx context.Context, olderThan time.Time) (int, error) {
	return d.abortUploads(ctx, d.root, &olderThan)
}

// copy copies the object src to dst inside the bucket, server-side.
func (d *Driver) copy(ctx context.Context, src, dst string) error {
	head, err := d.headObject(ctx, src)
	if err != nil {
		return err
	}
	if head.size > copyThreshold {
		return d.copyParts(ctx, src, dst, head.size, copyPartSize)
	}
	sse, kms := d.sse()
	_, err = d.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: d.bucket, Key: aws.String(dst), CopySource: aws.String(d.c.Bucket + "/" + src),
		ContentType: aws.String("application/octet-stream"), MetadataDirective: types.MetadataDirectiveReplace,
		StorageClass: d.storageClass(), ServerSideEncryption: sse, SSEKMSKeyId: kms,
	})
	return err
}

// copyParts copies src to dst with parallel UploadPartCopy requests of
// partSize bytes.
func (d *Driver) copyParts(ctx context.Context, src, dst string, size, partSize int64) error {
	source := aws.String(d.c.Bucket + "/" + src)
	id, err := d.createUpload(ctx, dst)
	if err != nil {
		return err
	}
	parts := int32((size + partSize - 1) / partSize)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, copyConcurrency)
	)
	for n := int32(1); n <= parts; n++ {
		start := int64(n-1) * partSize
		end := min(start+partSize, size) - 1
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := d.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
				Bucket: d.bucket, Key: aws.String(dst), UploadId: aws.String(id), PartNumber: aws.Int32(n),
				CopySource: source, CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", start, end)),
			})
			if err != nil {
				mu.Lock()
				first = errors.Join(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = d.complete(ctx, dst, id, parts)
	}
	if first != nil {
		_ = d.abort(context.WithoutCancel(ctx), dst, id)
	}
	return first
}
