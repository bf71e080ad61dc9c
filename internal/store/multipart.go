package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Streamed uploads to S3 (docs/design.md, "A large bundle uploads while it is
// sealed"): a body larger than the threshold goes up as a multipart upload
// while it is still being written, parts read back from the body's file, a few
// in flight; smaller bodies wait for their end and go up in one PutObject (a
// small push makes no extra requests). The object exists only once CompleteMultipartUpload succeeds
// (with the put's If-None-Match); any failure aborts the upload.
const (
	defaultMultipartThreshold = 16 << 20
	defaultPartSize           = 8 << 20
	// minPartSize is S3's smallest part but the last.
	minPartSize = 5 << 20
	// partsInFlight bounds the parts being sent at once. The bodies are read
	// from the file on demand, so memory does not grow with it.
	partsInFlight = 3
	maxParts      = 10000
	// abortTimeout bounds the AbortMultipartUpload after a failure, also after
	// Ctrl-C.
	abortTimeout = 10 * time.Second
	// abortRecheck and abortRounds: how long after an abort the upload is
	// looked at again, and how often it is aborted at most.
	abortRecheck = 150 * time.Millisecond
	abortRounds  = 5
)

var multipartThreshold, partSize atomic.Int64

func init() { SetMultipartSizes(defaultMultipartThreshold, defaultPartSize) }

// SetMultipartSizes sets the size above which PutStream uploads in parts and
// the size of a part (at least S3's 5 MiB), and returns a function that puts
// back the previous values. Tests use it to keep their bundles small.
func SetMultipartSizes(threshold, part int64) (restore func()) {
	oldT, oldP := multipartThreshold.Load(), partSize.Load()
	multipartThreshold.Store(threshold)
	partSize.Store(max(part, minPartSize))
	return func() { multipartThreshold.Store(oldT); partSize.Store(oldP) }
}

func (s *s3Store) PutStream(ctx context.Context, key string, body StreamBody, c Cond) (string, int64, error) {
	if err := checkS3Key(key); err != nil {
		return "", 0, &Error{Op: "put", Store: s.String(), Key: key, Err: err}
	}
	if err := checkCond(c); err != nil {
		return "", 0, &Error{Op: "put", Store: s.String(), Key: key, Err: err}
	}
	threshold := multipartThreshold.Load()
	n, final, err := body.Ready(ctx, threshold)
	if err != nil {
		return "", n, s.bodyFailed(key, err)
	}
	if !final && c.IfMatch != "" {
		// Only creations are streamed (the bundles); a swap waits for its body.
		n, final, err = waitFinal(ctx, body)
		if err != nil {
			return "", n, s.bodyFailed(key, err)
		}
	}
	if final && (n <= threshold || c.IfMatch != "") {
		etag, err := s.putFrom(ctx, key, body, n, c)
		return etag, n, err
	}
	return s.putParts(ctx, key, body, c)
}

// waitFinal waits for the whole body.
func waitFinal(ctx context.Context, body StreamBody) (int64, bool, error) {
	for {
		n, final, err := body.Ready(ctx, 1<<62)
		if err != nil || final {
			return n, final, err
		}
	}
}

// bodyFailed is the error of a put abandoned because its body's writer failed
// (or ctx ended while waiting for it).
func (s *s3Store) bodyFailed(key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return s.fail("put", key, err)
	}
	return &Error{Op: "put", Store: s.String(), Key: key, Err: err}
}

// putParts uploads body in parts as it grows and completes the upload once it
// is whole; on any failure the upload is aborted.
func (s *s3Store) putParts(ctx context.Context, key string, body StreamBody, c Cond) (string, int64, error) {
	cr, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return "", 0, s.fail("put", key, err)
	}
	id := aws.ToString(cr.UploadId)
	if id == "" {
		return "", 0, &Error{Op: "put", Store: s.String(), Key: key, Err: errors.New("the server started a multipart upload without an upload id")}
	}
	etag, n, err := s.sendParts(ctx, key, id, body, c)
	if err != nil {
		if aerr := s.abort(ctx, key, id); aerr != nil {
			var se *Error
			if errors.As(err, &se) {
				se.Err = fmt.Errorf("%w (and the incomplete upload could not be aborted: %v; it is never a version, and a bucket lifecycle rule removes it: `git vsync docs aws`)", se.Err, aerr)
			}
		}
	}
	return etag, n, err
}

// abort cancels the multipart upload id, best effort and bounded in time, also
// when ctx has ended. An upload already completed or aborted is not an error.
//
// A part the server was still receiving when the upload was aborted may bring
// the upload back when it lands (S3 documents this: abort again until no parts
// are left), so the upload is looked at after a short wait and aborted again
// while it is there.
func (s *s3Store) abort(ctx context.Context, key, id string) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	for round := 1; ; round++ {
		_, err := s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(id)})
		if _, code := errorCode(err); err != nil && code != "NoSuchUpload" {
			return s.cause(err)
		}
		select {
		case <-time.After(abortRecheck):
		case <-actx.Done():
			return nil
		}
		_, err = s.client.ListParts(actx, &s3.ListPartsInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(id), MaxParts: aws.Int32(1)})
		if err != nil {
			// NoSuchUpload: gone for good. Anything else (a key without
			// s3:ListMultipartUploadParts): cannot tell; the bucket's lifecycle
			// rule is the backstop.
			return nil
		}
		if round == abortRounds {
			return fmt.Errorf("the upload is still there after %d aborts", abortRounds)
		}
	}
}

func (s *s3Store) sendParts(ctx context.Context, key, id string, body StreamBody, c Cond) (string, int64, error) {
	part := partSize.Load()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		parts    []types.CompletedPart
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, partsInFlight)
	)
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	var off, n int64
	for num := int32(1); ; num++ {
		var final bool
		var err error
		n, final, err = body.Ready(pctx, off+part-1)
		if err != nil {
			if ctx.Err() == nil && pctx.Err() != nil {
				break // a part failed: its error is the one to report
			}
			setErr(s.bodyFailed(key, err))
			break
		}
		end := min(off+part, n)
		if end == off { // final, and the body ended at the last part's end
			break
		}
		if num > maxParts {
			setErr(&Error{Op: "put", Store: s.String(), Key: key, Err: fmt.Errorf("the body needs more than %d parts of %d bytes", maxParts, part)})
			break
		}
		select {
		case sem <- struct{}{}:
		case <-pctx.Done():
		}
		if pctx.Err() != nil {
			if ctx.Err() != nil {
				setErr(s.fail("put", key, ctx.Err()))
			}
			break
		}
		wg.Add(1)
		go func(num int32, off, size int64) {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := s.client.UploadPart(pctx, &s3.UploadPartInput{
				Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(id),
				PartNumber: aws.Int32(num), Body: io.NewSectionReader(body, off, size), ContentLength: aws.Int64(size),
			})
			if err == nil && aws.ToString(out.ETag) == "" {
				err = errors.New("the server accepted a part without an ETag")
			}
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				setErr(s.fail("put", key, err))
				return
			}
			mu.Lock()
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
			mu.Unlock()
		}(num, off, end-off)
		off = end
		if final && off == n {
			break
		}
	}
	wg.Wait()
	if firstErr != nil {
		return "", n, firstErr
	}
	if err := ctx.Err(); err != nil {
		return "", n, s.fail("put", key, err)
	}
	sort.Slice(parts, func(i, j int) bool { return aws.ToInt32(parts[i].PartNumber) < aws.ToInt32(parts[j].PartNumber) })
	in := &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if c.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
		// Asked first as well: a server that ignored the condition on
		// CompleteMultipartUpload would then only miss a creation racing
		// within this round trip (doctor's probe tells such servers).
		if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}); err == nil {
			return "", n, &Error{Op: "put", Store: s.String(), Key: key, Kind: ErrPreconditionFailed, Err: errors.New("the object exists")}
		} else if classify("get", err) != ErrNotFound {
			return "", n, s.fail("put", key, err)
		}
	}
	attempts := new(atomic.Int32)
	out, err := s.client.CompleteMultipartUpload(context.WithValue(ctx, attemptsKey{}, attempts), in)
	if err == nil {
		return quoteETag(aws.ToString(out.ETag)), n, nil
	}
	// The answer to an earlier attempt may be lost while the server completed
	// the upload: a retry then meets our own object (412 under If-None-Match)
	// or an upload that is gone (NoSuchUpload), and a 5xx or reset may hide
	// either. The object as it is now decides: ours only if it is exactly the
	// parts we sent.
	_, code := errorCode(err)
	kind := classify("put", err)
	lost := (attempts.Load() > 1 && (kind == ErrPreconditionFailed || code == "NoSuchUpload")) ||
		(kind == ErrUnreachable && reachedServer(err))
	if lost && ctx.Err() == nil {
		if etag, ours := s.holdsParts(ctx, key, body, n, parts); ours {
			return etag, n, nil
		}
	}
	if code == "NoSuchUpload" {
		// Not "not found": the key was never what this put looked for.
		return "", n, &Error{Op: "put", Store: s.String(), Key: key, Err: s.cause(err)}
	}
	return "", n, s.fail("put", key, err)
}

// holdsParts reports whether the object at key is the upload of parts: its size
// is n and its ETag the multipart ETag of the parts' ETags (MD5 of their MD5s,
// "-" and their count, as S3 makes it); a server that makes ETags otherwise
// gets the object compared byte for byte with body.
func (s *s3Store) holdsParts(ctx context.Context, key string, body io.ReaderAt, n int64, parts []types.CompletedPart) (string, bool) {
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil || aws.ToInt64(head.ContentLength) != n {
		return "", false
	}
	etag := quoteETag(aws.ToString(head.ETag))
	h := md5.New()
	for _, p := range parts {
		// A part's ETag is its MD5 on S3.
		b, err := hex.DecodeString(unquoteETag(aws.ToString(p.ETag)))
		if err != nil || len(b) != md5.Size {
			return s.holds(ctx, key, body, n)
		}
		h.Write(b)
	}
	switch e := unquoteETag(etag); {
	case e == fmt.Sprintf("%x-%d", h.Sum(nil), len(parts)):
		return etag, true
	case strings.HasSuffix(e, fmt.Sprintf("-%d", len(parts))):
		return "", false // an S3 multipart ETag, of other parts
	}
	return s.holds(ctx, key, body, n)
}

func (s *s3Store) probeMultipart(ctx context.Context, key string) error {
	cr, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return s.fail("put", key, err)
	}
	id := aws.ToString(cr.UploadId)
	defer s.abort(ctx, key, id)
	body := []byte("probe 5")
	part, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(id),
		PartNumber: aws.Int32(1), Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return s.fail("put", key, err)
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(id), IfNoneMatch: aws.String("*"),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}},
	})
	switch {
	case err == nil:
		return fmt.Errorf("%w (If-None-Match: * on CompleteMultipartUpload was ignored: pushes of bundles over %d MiB could overwrite each other)", ErrConditionalIgnored, multipartThreshold.Load()>>20)
	case classify("put", err) == ErrPreconditionFailed:
		return nil
	}
	return s.fail("put", key, err)
}
