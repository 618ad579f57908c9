package s3upload_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	tartape "github.com/tartape/tartape/bindings/go"
	"github.com/tartape/tartape/bindings/go/s3upload"
)

// Upload a directory's archive to S3 without writing it anywhere; run it again after an
// interruption and it resumes.
func ExampleUpload() {
	cfg, err := config.LoadDefaultConfig(context.Background()) // AWS_* variables, shared files
	if err != nil {
		log.Fatal(err)
	}
	client := s3.NewFromConfig(cfg)
	tape, err := tartape.New()
	if err != nil {
		log.Fatal(err)
	}
	defer tape.Close()
	if err := tape.AddPath("/data/projects", ""); err != nil {
		log.Fatal(err)
	}
	if err := tape.Seal(); err != nil {
		log.Fatal(err)
	}
	etag, err := s3upload.Upload(context.Background(), tape, client, "my-bucket", "projects.tar",
		s3upload.Options{Workers: 8})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("uploaded, ETag", etag)
}
