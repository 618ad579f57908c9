// Package s3upload uploads a tartape archive to S3 as a multipart upload over an aws-sdk-go-v2
// client the caller makes, with no temporary file: each part is read with Tape.ReadAt straight
// from the sources, several parts in flight at once (memory: Workers x PartSize), each sent with
// its Content-MD5 (and, on request, a CRC32, CRC32C or SHA256 the store checks); the ETag the store
// answers for each part and the object's ETag are checked against the archive's. An upload of the
// same key already in progress is resumed: its parts are listed, those with the archive's MD5 and
// size are kept and only the others sent. The rules are those of `tartape upload`; the SDK's own
// retries apply to every call.
//
// It is a module of its own so that the tartape binding itself needs no AWS dependency.
package s3upload

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	tartape "github.com/tartape/tartape/bindings/go"
)

// S3's limits on multipart uploads.
const (
	MinPart  = 5 << 20
	MaxPart  = 5 << 30
	MaxParts = 10000
)

// Options tune an upload; the zero value is fine.
type Options struct {
	// PartSize is the bytes per part (the last may be shorter); 0 chooses the smallest whole MiB,
	// at least 8 MiB, that fits the archive in 10,000 parts.
	PartSize int64
	// Workers is the number of parts in flight at once (default 8).
	Workers int
	// NoResume starts a new upload even when one of the key is in progress.
	NoResume bool
	// Checksum is "" (Content-MD5 only), types.ChecksumAlgorithmCrc32, Crc32c or Sha256.
	Checksum types.ChecksumAlgorithm
	// Progress, when set, is called (from worker goroutines) with the bytes in the store so far.
	Progress func(done, total int64)
}

// Error is an upload that could not be completed. UploadID names the upload left in the store,
// which a later call resumes ("" when none was started).
type Error struct {
	UploadID string
	Err      error
}

func (e *Error) Error() string {
	if e.UploadID == "" {
		return "s3upload: " + e.Err.Error()
	}
	return fmt.Sprintf("s3upload: %v (upload %s is left in the store: call again to resume it)", e.Err, e.UploadID)
}

func (e *Error) Unwrap() error { return e.Err }

// ChoosePartSize checks size against S3's limits for an archive of total bytes, or chooses one
// when size is 0.
func ChoosePartSize(total, size int64) (int64, error) {
	if size == 0 {
		perPart := (total + MaxParts - 1) / MaxParts
		size = (perPart + (1<<20 - 1)) / (1 << 20) * (1 << 20)
		if size < 8<<20 {
			size = 8 << 20
		}
	}
	if size > MaxPart {
		return 0, fmt.Errorf("part size %d: S3 takes parts of at most 5 GiB", size)
	}
	if size < MinPart && total > size {
		return 0, fmt.Errorf("part size %d: S3 takes parts of at least 5 MiB except the last", size)
	}
	if n := (total + size - 1) / size; n > MaxParts {
		return 0, fmt.Errorf("%d bytes in parts of %d make %d parts, more than S3's 10,000", total, size, n)
	}
	return size, nil
}

// MultipartETag is the ETag of an object assembled from parts with these MD5s.
func MultipartETag(md5s [][md5.Size]byte) string {
	h := md5.New()
	for _, m := range md5s {
		h.Write(m[:])
	}
	return fmt.Sprintf("%q", fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(md5s)))
}

type done struct {
	n        int32
	md5      [md5.Size]byte
	checksum string
}

func checksumOf(alg types.ChecksumAlgorithm, b []byte) (string, error) {
	var sum []byte
	switch alg {
	case "":
		return "", nil
	case types.ChecksumAlgorithmCrc32:
		sum = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b))
	case types.ChecksumAlgorithmCrc32c:
		sum = binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	case types.ChecksumAlgorithmSha256:
		s := sha256.Sum256(b)
		sum = s[:]
	default:
		return "", fmt.Errorf("checksum %q: use \"\", CRC32, CRC32C or SHA256", alg)
	}
	return base64.StdEncoding.EncodeToString(sum), nil
}

// Upload sends the archive of tape to s3://bucket/key and returns the object's ETag.
func Upload(ctx context.Context, tape *tartape.Tape, client *s3.Client, bucket, key string, opts Options) (string, error) {
	total, err := tape.Size()
	if err != nil {
		return "", &Error{Err: fmt.Errorf("a stream-only tape cannot be uploaded in parts: %w", err)}
	}
	size, err := ChoosePartSize(total, opts.PartSize)
	if err != nil {
		return "", &Error{Err: err}
	}
	if _, err := checksumOf(opts.Checksum, nil); err != nil {
		return "", &Error{Err: err}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 8
	}
	count := int32((total + size - 1) / size)
	if count == 0 {
		count = 1
	}

	// Some stores create a missing bucket on the first write: an upload never does.
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
		return "", &Error{Err: fmt.Errorf("bucket %s: %w", bucket, err)}
	}
	uploadID, listed, err := find(ctx, client, bucket, key, opts.NoResume)
	if err != nil {
		return "", &Error{Err: err}
	}
	if uploadID == "" {
		in := &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ContentType: aws.String("application/x-tar")}
		if opts.Checksum != "" {
			in.ChecksumAlgorithm = opts.Checksum
		}
		out, err := client.CreateMultipartUpload(ctx, in, ours)
		if err != nil {
			return "", &Error{Err: err}
		}
		uploadID = *out.UploadId
	}

	var (
		mu      sync.Mutex
		results []done
		first   error
		sent    int64
		wg      sync.WaitGroup
	)
	slots := make(chan struct{}, workers) // at most `workers` parts in memory
	for n := int32(1); n <= count; n++ {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(n int32) {
			defer wg.Done()
			defer func() { <-slots }()
			d, length, err := part(ctx, tape, client, bucket, key, uploadID, n, size, total, opts.Checksum, listed[n])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("part %d: %w", n, err)
				}
				return
			}
			results = append(results, d)
			sent += length
			if opts.Progress != nil {
				opts.Progress(sent, total)
			}
		}(n)
	}
	wg.Wait()
	if first != nil {
		return "", &Error{UploadID: uploadID, Err: first}
	}
	sort.Slice(results, func(i, j int) bool { return results[i].n < results[j].n })
	parts := make([]types.CompletedPart, len(results))
	md5s := make([][md5.Size]byte, len(results))
	for i, d := range results {
		etag := fmt.Sprintf("%q", hex.EncodeToString(d.md5[:]))
		parts[i] = types.CompletedPart{PartNumber: aws.Int32(d.n), ETag: aws.String(etag)}
		switch opts.Checksum {
		case types.ChecksumAlgorithmCrc32:
			parts[i].ChecksumCRC32 = aws.String(d.checksum)
		case types.ChecksumAlgorithmCrc32c:
			parts[i].ChecksumCRC32C = aws.String(d.checksum)
		case types.ChecksumAlgorithmSha256:
			parts[i].ChecksumSHA256 = aws.String(d.checksum)
		}
		md5s[i] = d.md5
	}
	out, err := client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}, ours)
	if err != nil {
		return "", &Error{UploadID: uploadID, Err: err}
	}
	want := MultipartETag(md5s)
	if aws.ToString(out.ETag) != want {
		return "", &Error{Err: fmt.Errorf("the store's ETag %s is not the archive's %s", aws.ToString(out.ETag), want)}
	}
	return want, nil
}

// ours makes every call carry only the checksums this package computes (the SDK would otherwise
// add a CRC32 of its own to uploads).
func ours(o *s3.Options) {
	o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
}

type listedPart struct {
	etag string
	size int64
}

// find returns the upload of key in progress (unless noResume) and the parts it holds.
func find(ctx context.Context, client *s3.Client, bucket, key string, noResume bool) (string, map[int32][]listedPart, error) {
	listed := map[int32][]listedPart{}
	if noResume {
		return "", listed, nil
	}
	ups, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &key})
	if err != nil {
		return "", nil, err
	}
	var ids []string
	for _, u := range ups.Uploads {
		if aws.ToString(u.Key) == key {
			ids = append(ids, aws.ToString(u.UploadId))
		}
	}
	switch len(ids) {
	case 0:
		return "", listed, nil
	case 1:
	default:
		return "", nil, fmt.Errorf("%d uploads of s3://%s/%s are in progress: abort all but one", len(ids), bucket, key)
	}
	p := s3.NewListPartsPaginator(client, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &ids[0]})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", nil, err
		}
		for _, part := range page.Parts {
			n := aws.ToInt32(part.PartNumber)
			listed[n] = append(listed[n], listedPart{aws.ToString(part.ETag), aws.ToInt64(part.Size)})
		}
	}
	return ids[0], listed, nil
}

// part reads part n, and sends it unless the store already holds it with the same bytes.
func part(ctx context.Context, tape *tartape.Tape, client *s3.Client, bucket, key, id string, n int32, size, total int64, alg types.ChecksumAlgorithm, there []listedPart) (done, int64, error) {
	start := int64(n-1) * size
	end := start + size
	if end > total {
		end = total
	}
	buf := make([]byte, end-start)
	if _, err := tape.ReadAt(buf, start); err != nil {
		return done{}, 0, err
	}
	sum := md5.Sum(buf)
	etag := fmt.Sprintf("%q", hex.EncodeToString(sum[:]))
	checksum, err := checksumOf(alg, buf)
	if err != nil {
		return done{}, 0, err
	}
	d := done{n: n, md5: sum, checksum: checksum}
	for _, p := range there {
		if p.etag == etag && p.size == int64(len(buf)) {
			return d, int64(len(buf)), nil
		}
	}
	in := &s3.UploadPartInput{
		Bucket: &bucket, Key: &key, UploadId: &id, PartNumber: aws.Int32(n),
		Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf))),
		ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}
	switch alg {
	case types.ChecksumAlgorithmCrc32:
		in.ChecksumCRC32 = aws.String(checksum)
	case types.ChecksumAlgorithmCrc32c:
		in.ChecksumCRC32C = aws.String(checksum)
	case types.ChecksumAlgorithmSha256:
		in.ChecksumSHA256 = aws.String(checksum)
	}
	out, err := client.UploadPart(ctx, in, ours)
	if err != nil {
		return done{}, 0, err
	}
	if got := aws.ToString(out.ETag); got != etag {
		return done{}, 0, errors.New("the store answered ETag " + got + ", the part's MD5 is " + etag)
	}
	return d, int64(len(buf)), nil
}
