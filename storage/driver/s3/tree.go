package s3

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/berthhq/berth/storage/driver"
)

// stateSuffix ends the key of a Writer's state object (see writer.go).
// '~' is outside driver.PathRegexp, so no driver path can name such a key,
// and listings skip them.
const stateSuffix = "~partial"

// listDir returns the children of directory p, sorted by path: objects
// with their sizes and subdirectories (common prefixes). An empty result
// for p other than "/" means there is no such directory.
func (d *Driver) listDir(ctx context.Context, p string) ([]driver.FileInfo, error) {
	prefix := d.prefix(p)
	var out []driver.FileInfo
	pager := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{
		Bucket: d.bucket, Prefix: aws.String(prefix), Delimiter: aws.String("/"),
	})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, pathErr(ctx, "list", p, err)
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, driver.FileInfoFields{FPath: d.path(aws.ToString(cp.Prefix)), FIsDir: true})
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if k == prefix || strings.HasSuffix(k, stateSuffix) {
				continue // a directory marker some tools create, or a Writer's state
			}
			out = append(out, driver.FileInfoFields{FPath: d.path(k), FSize: aws.ToInt64(o.Size), FModTime: aws.ToTime(o.LastModified)})
		}
	}
	// A directory holding only Writer states shows as a common prefix
	// whose listing is empty: S3 cannot tell us without listing it. Such
	// directories are rare (an upload before its first chunk is stored)
	// and harmless to show.
	sort.Slice(out, func(i, j int) bool { return out[i].Path() < out[j].Path() })
	return out, nil
}

// List implements driver.Driver.
func (d *Driver) List(ctx context.Context, p string) ([]string, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	entries, err := d.listDir(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 && p != "/" {
		return nil, &driver.PathError{Op: "list", Path: p, Driver: driverName, Err: driver.ErrNotFound}
	}
	paths := make([]string, len(entries))
	for i, e := range entries {
		paths[i] = e.Path()
	}
	return paths, nil
}

// Walk implements driver.Driver one directory listing at a time, so a
// skipped directory costs nothing and entries come in lexical order within
// each directory.
func (d *Driver) Walk(ctx context.Context, p string, fn driver.WalkFn) error {
	if err := d.check(ctx, p); err != nil {
		return err
	}
	entries, err := d.listDir(ctx, p)
	if err != nil {
		return err
	}
	if len(entries) == 0 && p != "/" {
		return &driver.PathError{Op: "walk", Path: p, Driver: driverName, Err: driver.ErrNotFound}
	}
	err = d.walk(ctx, entries, fn)
	if errors.Is(err, driver.ErrSkipDir) {
		return nil
	}
	return err
}

func (d *Driver) walk(ctx context.Context, entries []driver.FileInfo, fn driver.WalkFn) error {
	for _, e := range entries {
		err := fn(e)
		if errors.Is(err, driver.ErrSkipDir) {
			if e.IsDir() {
				continue
			}
			return nil // from a file: skip the rest of this directory
		}
		if err != nil {
			return err
		}
		if !e.IsDir() {
			continue
		}
		children, err := d.listDir(ctx, e.Path())
		if err != nil {
			return err
		}
		if err := d.walk(ctx, children, fn); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements driver.Driver: the object at p, or, when p is a
// directory, every key below it. Writers' pending objects go too: their
// state objects, the multipart uploads those name, and, below a deleted
// directory, any multipart upload (parts that a process killed before its
// first Close uploaded).
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := d.check(ctx, p); err != nil {
		return err
	}
	if p != "/" {
		key := aws.String(d.key(p))
		_, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: d.bucket, Key: key})
		if err == nil {
			_, err = d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: d.bucket, Key: key})
			if err != nil && !isNotFound(err) {
				return pathErr(ctx, "delete", p, err)
			}
			return nil
		}
		if !isNotFound(err) {
			return pathErr(ctx, "delete", p, err)
		}
	}
	n, err := d.deletePrefix(ctx, p)
	if err != nil {
		return err
	}
	if n > 0 || p == "/" {
		// Multipart uploads below that no state names: parts a killed
		// process uploaded before its first Close.
		if _, err := d.abortUploads(ctx, d.prefix(p), nil); err != nil {
			return pathErr(ctx, "delete", p, err)
		}
		return nil
	}
	st, err := d.loadState(ctx, p, false)
	if err != nil {
		return err
	}
	if st == nil {
		return &driver.PathError{Op: "delete", Path: p, Driver: driverName, Err: driver.ErrNotFound}
	}
	return d.dropState(ctx, p, st)
}

// deletePrefix removes every key below the directory p, a thousand per
// request, aborting the multipart uploads that the Writer states among
// them name, and returns how many keys it removed.
func (d *Driver) deletePrefix(ctx context.Context, p string) (int, error) {
	n := 0
	pager := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{Bucket: d.bucket, Prefix: aws.String(d.prefix(p))})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return n, pathErr(ctx, "delete", p, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		objs := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			objs[i] = types.ObjectIdentifier{Key: o.Key}
			if k := aws.ToString(o.Key); strings.HasSuffix(k, stateSuffix) {
				pending := d.path(strings.TrimSuffix(k, stateSuffix))
				if st, err := d.loadState(ctx, pending, false); err != nil {
					return n, err
				} else if st != nil && st.uploadID != "" {
					if err := d.abort(ctx, d.key(pending), st.uploadID); err != nil {
						return n, pathErr(ctx, "delete", pending, err)
					}
				}
			}
		}
		out, err := d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: d.bucket, Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return n, pathErr(ctx, "delete", p, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return n, pathErr(ctx, "delete", p, errors.New("deleting "+aws.ToString(e.Key)+": "+aws.ToString(e.Code)+": "+aws.ToString(e.Message)))
		}
		n += len(objs)
	}
	return n, nil
}

// ListPage implements driver.Pager with one ListObjectsV2 request.
func (d *Driver) ListPage(ctx context.Context, dir, after string, n int) ([]string, bool, error) {
	if err := d.check(ctx, dir); err != nil {
		return nil, false, err
	}
	prefix := d.prefix(dir)
	in := &s3.ListObjectsV2Input{Bucket: d.bucket, Prefix: aws.String(prefix), Delimiter: aws.String("/"), MaxKeys: aws.Int32(int32(min(n, 1000)))}
	if after != "" {
		in.StartAfter = aws.String(prefix + after)
	}
	out, err := d.client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, false, pathErr(ctx, "list", dir, err)
	}
	paths := make([]string, 0, len(out.Contents))
	for _, o := range out.Contents {
		if k := aws.ToString(o.Key); k != prefix && !strings.HasSuffix(k, stateSuffix) {
			paths = append(paths, d.path(k))
		}
	}
	return paths, aws.ToBool(out.IsTruncated), nil
}
