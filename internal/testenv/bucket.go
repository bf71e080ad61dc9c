package testenv

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// CreateBucket is NewBucket for callers without a testing.TB (testscript commands).
func (s S3Server) CreateBucket() (string, error) {
	name := fmt.Sprintf("t%d-%s", bucketSeq.Add(1), randHex(6))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return "", fmt.Errorf("versitygw: create bucket %s: %w", name, err)
	}
	return name, nil
}
