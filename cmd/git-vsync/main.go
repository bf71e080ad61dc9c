// Command git-vsync keeps a team's secrets in step with its code; run it as
// `git vsync <command>` or `git-vsync <command>`.
package main

import (
	"os"

	"github.com/git-vsync/git-vsync/internal/cli"
)

// stopProfile ends a CPU profile (profile.go, only in -tags vsyncprofile builds).
var stopProfile = func() {}

func main() {
	lateFirstGC()
	code := cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}
