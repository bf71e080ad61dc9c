package vsync_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/git-vsync/git-vsync/vsync"
)

// An application reads its secrets at start-up. In production the token and the
// key come from the environment (vsync.Open reads VSYNC_CONFIG and VSYNC_KEY);
// here a local store stands in for the bucket.
func Example() {
	dir, _ := os.MkdirTemp("", "vsync-example")
	defer os.RemoveAll(dir)
	d, _ := newDemo(dir) // a store as `git vsync push dev` leaves it
	_ = d.publish("20260131-120000", map[string]string{
		".env.dev":       "DATABASE_URL=postgres://app@db/app\nAPI_TOKEN='s3cr3t'\n",
		"tls/server.pem": "-----BEGIN CERTIFICATE-----\n",
	})

	ctx := context.Background()
	s, err := vsync.OpenWith(ctx, d.token, d.key, // or vsync.Open(ctx)
		vsync.WithDefaults(map[string]string{"APP_LISTEN": ":8080"}))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	url, _ := s.Get("DATABASE_URL")
	cert, _ := s.File("tls/server.pem")
	listen, _ := s.Source("APP_LISTEN") // not in the vault: the environment, then defaults
	fmt.Println(url)
	fmt.Printf("%q\n", cert)
	fmt.Println("listen", listen)
	fmt.Println(s) // values are never printed
	changed, _ := s.Changed(ctx)
	fmt.Println("changed:", changed)
	// Output:
	// postgres://app@db/app
	// "-----BEGIN CERTIFICATE-----\n"
	// listen :8080
	// vsync.Secrets{env: dev, version: 20260131-120000, API_TOKEN: <redacted>, DATABASE_URL: <redacted>, files: 2}
	// changed: false
}
