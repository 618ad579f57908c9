package s3upload

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	tartape "github.com/tartape/tartape/bindings/go"
)

const (
	testKey    = "tartape-go-key"
	testSecret = "tartape-go-secret"
	testBucket = "tapes"
)

// server starts SeaweedFS (built once by tests/services/seaweedfs.sh) on free loopback ports with
// a fresh directory, and returns a client for it; the test skips, saying so loudly, without it.
func server(t *testing.T) *s3.Client {
	t.Helper()
	script, _ := filepath.Abs("../../../tests/services/seaweedfs.sh")
	out, err := exec.Command("bash", script, "--cached").Output()
	weed := strings.TrimSpace(string(out))
	if err != nil || weed == "" {
		t.Skip("*** SKIPPED: SeaweedFS's weed is not built (run tests/services/seaweedfs.sh) ***")
	}
	var ports []int
	for p := 22000 + os.Getpid()%4000; len(ports) < 5 && p < 32000; p++ {
		a, e1 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		b, e2 := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000))
		if e1 == nil && e2 == nil {
			ports = append(ports, p)
		}
		if a != nil {
			a.Close()
		}
		if b != nil {
			b.Close()
		}
	}
	dir := t.TempDir()
	cmd := exec.Command(weed, "mini", "-dir="+filepath.Join(dir, "data"), "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.telemetry=false", "-bucket="+testBucket, "-webdav=false", "-s3.port.iceberg=0", "-admin.port.legacy=0",
		fmt.Sprintf("-s3.port=%d", ports[0]), fmt.Sprintf("-master.port=%d", ports[1]), fmt.Sprintf("-volume.port=%d", ports[2]),
		fmt.Sprintf("-filer.port=%d", ports[3]), fmt.Sprintf("-admin.port=%d", ports[4]))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+testKey, "AWS_SECRET_ACCESS_KEY="+testSecret)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(fmt.Sprintf("http://127.0.0.1:%d", ports[0])),
		Credentials:  credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		UsePathStyle: true,
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(testBucket)})
		cancel()
		if err == nil {
			return client
		}
		if time.Now().After(deadline) {
			t.Fatalf("weed not ready: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func testTape(t *testing.T) (*tartape.Tape, []byte) {
	t.Helper()
	dir := t.TempDir()
	big := make([]byte, 12<<20+77)
	for i := range big {
		big[i] = byte(i * 7 / 3)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "small.txt"), []byte("small\n"), 0o644)
	tape, err := tartape.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tape.Close() })
	if err := tape.AddPath(dir, "tree"); err != nil {
		t.Fatal(err)
	}
	if err := tape.Seal(); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	if _, err := tape.WriteTo(&all); err != nil {
		t.Fatal(err)
	}
	return tape, all.Bytes()
}

func object(t *testing.T, client *s3.Client, key string) ([]byte, string) {
	t.Helper()
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return b, aws.ToString(out.ETag)
}

func TestUploadGivesTheArchiveAndItsETag(t *testing.T) {
	client := server(t)
	tape, archive := testTape(t)
	var md5s [][md5.Size]byte
	for i := 0; i < len(archive); i += 5 << 20 {
		end := min(i+5<<20, len(archive))
		md5s = append(md5s, md5.Sum(archive[i:end]))
	}
	for _, alg := range []types.ChecksumAlgorithm{"", types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmSha256} {
		key := "go-" + string(alg) + ".tar"
		etag, err := Upload(context.Background(), tape, client, testBucket, key, Options{PartSize: 5 << 20, Workers: 3, Checksum: alg})
		if err != nil {
			t.Fatal(alg, err)
		}
		if etag != MultipartETag(md5s) {
			t.Fatalf("%s: etag %s, want %s", alg, etag, MultipartETag(md5s))
		}
		got, gotETag := object(t, client, key)
		if !bytes.Equal(got, archive) || gotETag != etag {
			t.Fatalf("%s: the object is not the archive (%d bytes, %s)", alg, len(got), gotETag)
		}
	}
}

func TestAnUploadInProgressIsResumedWithAWrongPartReplaced(t *testing.T) {
	client := server(t)
	tape, archive := testTape(t)
	ctx := context.Background()
	key := "resumed.tar"
	up, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	// Part 1 right, part 2 wrong, part 3 missing: as an upload killed after a bad write.
	for n, body := range map[int32][]byte{1: archive[:5<<20], 2: make([]byte, 5<<20)} {
		if _, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(testBucket), Key: aws.String(key),
			UploadId: up.UploadId, PartNumber: aws.Int32(n), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	etag, err := Upload(ctx, tape, client, testBucket, key, Options{PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got, gotETag := object(t, client, key); !bytes.Equal(got, archive) || gotETag != etag {
		t.Fatalf("the resumed object is not the archive")
	}
}

func TestBadInputIsAnError(t *testing.T) {
	if _, err := ChoosePartSize(100<<20, 1<<20); err == nil || !strings.Contains(err.Error(), "at least 5 MiB") {
		t.Fatal(err)
	}
	if _, err := ChoosePartSize(100<<20, 6<<30); err == nil {
		t.Fatal("a 6 GiB part is refused")
	}
	if s, _ := ChoosePartSize(1<<40, 0); (1<<40+s-1)/s > MaxParts || s%(1<<20) != 0 {
		t.Fatal(s)
	}
	var e *Error
	client := server(t)
	tape, _ := testTape(t)
	_, err := Upload(context.Background(), tape, client, "no-such-bucket-here", "x.tar", Options{NoResume: true})
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
}
