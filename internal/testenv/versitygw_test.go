package testenv

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) { Main(m) }

func TestVersitygwShared(t *testing.T) {
	s := Versitygw(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") || s.Region != "us-east-1" || s.AccessKey == "" || s.SecretKey == "" {
		t.Fatalf("bad server %+v", s)
	}
	if again := Versitygw(t); again != s {
		t.Fatalf("second call started another server: %+v vs %+v", again, s)
	}
	b1, b2 := s.NewBucket(t), s.NewBucket(t)
	if b1 == b2 {
		t.Fatalf("NewBucket returned %q twice", b1)
	}
	ctx := context.Background()
	c := s.client()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b1), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WrongSecret().client().ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
		t.Fatal("a wrong secret key was accepted")
	}
}

func TestVersitygwStopStart(t *testing.T) {
	g := StartVersitygw(t)
	if g.Endpoint == Versitygw(t).Endpoint {
		t.Fatal("StartVersitygw returned the shared server")
	}
	b := g.NewBucket(t)
	ctx := context.Background()
	if _, err := g.client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	g.Stop()
	if g.Ready() {
		t.Fatal("server still answers after Stop")
	}
	g.Start(t)
	if !g.Ready() {
		t.Fatal("server does not answer after Start")
	}
	if _, err := g.client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")}); err != nil {
		t.Fatalf("object lost across restart: %v", err)
	}
}

func TestDownEndpoint(t *testing.T) {
	if (S3Server{Endpoint: DownEndpoint(t)}).Ready() {
		t.Fatal("DownEndpoint answers")
	}
}

// TestVersitygwDiesWithTestProcess kills a test process that started a
// versitygw (SIGKILL: no cleanup code runs) and checks that the server goes
// away and its temp folder is removed.
func TestVersitygwDiesWithTestProcess(t *testing.T) {
	if os.Getenv("VSYNC_TESTENV_HELPER") == "1" {
		s := Versitygw(t)
		fmt.Printf("READY %s %s\n", s.Endpoint, shared.dir)
		time.Sleep(time.Minute)
		return
	}
	if runtime.GOOS == "windows" {
		t.Skip("the Windows job object is not tested here")
	}
	if _, err := findVersitygw(); err != nil {
		Missing(t, "%v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestVersitygwDiesWithTestProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "VSYNC_TESTENV_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var endpoint, dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
			endpoint, dir = f[1], f[2]
			break
		}
	}
	if endpoint == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper did not start a server")
	}
	if !(S3Server{Endpoint: endpoint}).Ready() {
		t.Fatal("helper's server does not answer")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, statErr := os.Stat(dir)
		down := !(S3Server{Endpoint: endpoint}).Ready()
		if down && os.IsNotExist(statErr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the test process died: server down=%v, temp folder stat=%v", down, statErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
