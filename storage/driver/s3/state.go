package s3

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// A Writer that is closed without being committed leaves its object
// pending: an S3 multipart upload holding the full parts written so far,
// and a state object at the object's key plus stateSuffix. The state
// object's body is the tail, the bytes after the last full part (less
// than a part, since S3 refuses small parts but the last); its metadata
// names the multipart upload and counts the parts and bytes.
//
// Saving the state is the moment a Close takes effect. Parts uploaded
// since the previous state but not yet recorded (a process killed
// between) are not counted: the next Writer overwrites them by number, so
// a pending object is always exactly what its state says.
type state struct {
	uploadID string    // "" until the first full part
	parts    int32     // full parts 1..parts are in the upload
	size     int64     // bytes in all parts plus the tail
	tail     []byte    // loaded only when asked for
	modTime  time.Time // when the state was saved
}

// Metadata keys of a state object (S3 lowercases them).
const (
	metaUploadID = "berth-upload-id"
	metaParts    = "berth-parts"
	metaSize     = "berth-size"
)

func (d *Driver) stateKey(p string) string { return d.key(p) + stateSuffix }

// loadState returns the pending state of p, or nil when p has none; with
// withTail it reads the tail too.
func (d *Driver) loadState(ctx context.Context, p string, withTail bool) (*state, error) {
	var o object
	var err error
	if withTail {
		o, err = d.getObject(ctx, d.stateKey(p))
	} else {
		o, err = d.headObject(ctx, d.stateKey(p))
	}
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, pathErr(ctx, "load write state", p, err)
	}
	meta, modTime := o.meta, o.modTime
	st := &state{uploadID: meta[metaUploadID], modTime: modTime}
	parts, err1 := strconv.ParseInt(meta[metaParts], 10, 32)
	size, err2 := strconv.ParseInt(meta[metaSize], 10, 64)
	if err1 != nil || err2 != nil || parts < 0 || size < 0 || (parts > 0) != (st.uploadID != "") {
		return nil, pathErr(ctx, "load write state", p, errCorruptState)
	}
	st.parts, st.size = int32(parts), size
	st.tail = o.body
	return st, nil
}

// saveState records st (with its tail) as p's pending state.
func (d *Driver) saveState(ctx context.Context, p string, st *state) error {
	meta := map[string]string{
		metaUploadID: st.uploadID,
		metaParts:    strconv.FormatInt(int64(st.parts), 10),
		metaSize:     strconv.FormatInt(st.size, 10),
	}
	if err := d.putObject(ctx, d.stateKey(p), st.tail, meta); err != nil {
		return pathErr(ctx, "save write state", p, err)
	}
	return nil
}

// dropState aborts st's multipart upload and removes the state object.
func (d *Driver) dropState(ctx context.Context, p string, st *state) error {
	if st.uploadID != "" {
		if err := d.abort(ctx, d.key(p), st.uploadID); err != nil {
			return pathErr(ctx, "abort write", p, err)
		}
	}
	_, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: d.bucket, Key: aws.String(d.stateKey(p))})
	if err != nil && !isNotFound(err) {
		return pathErr(ctx, "drop write state", p, err)
	}
	return nil
}

var errCorruptState = errors.New("corrupt write state")

// readSmall reads the whole object at key, which the caller knows to be
// smaller than a part.
func (d *Driver) readSmall(ctx context.Context, key string) ([]byte, error) {
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: d.bucket, Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(out.Body)
	return buf.Bytes(), err
}
