package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// StartVersitygwIAM is StartVersitygw with versitygw's internal IAM service and
// its admin API, so a test can create users of its own (CreateUser) and grant
// them access with a bucket policy (PutBucketPolicy): least-privilege keys.
func StartVersitygwIAM(t testing.TB) *Gateway {
	t.Helper()
	bin, err := findVersitygw()
	if err != nil {
		Missing(t, "%v", err)
	}
	g, err := startGatewayWith(bin, true)
	if err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	t.Cleanup(g.close)
	return g
}

// CreateUser adds a user with role "user": it can reach only what a bucket
// policy grants it. The keys are test values; versitygw's admin tool takes the
// secret as an argument.
func (g *Gateway) CreateUser(accessKey, secretKey string) error {
	if g.adminPort == 0 {
		return fmt.Errorf("versitygw: started without IAM (use StartVersitygwIAM)")
	}
	cmd := exec.Command(g.bin, "admin", "--endpoint-url", "http://127.0.0.1:"+strconv.Itoa(g.adminPort),
		"create-user", "--access", accessKey, "--secret", secretKey, "--role", "user")
	cmd.Env = append(os.Environ(), "ADMIN_ACCESS_KEY_ID="+g.AccessKey, "ADMIN_SECRET_ACCESS_KEY="+g.SecretKey)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("versitygw admin create-user: %v: %s", err, out)
	}
	return nil
}

// PutBucketPolicy sets the policy of bucket (as the root user).
func (s S3Server) PutBucketPolicy(bucket, policy string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.client().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)})
	return err
}
