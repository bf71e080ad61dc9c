// Command git-vsync keeps a team's secrets in step with its code; run it as
// `git vsync <command>` or `git-vsync <command>`.
package main

import (
	"os"

	"github.com/git-vsync/git-vsync/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
