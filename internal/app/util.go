package app

import (
	"fmt"
	"os"

	"github.com/git-vsync/git-vsync/internal/vault"
)

func (a *App) warnf(format string, args ...any) {
	if a.Log != nil {
		fmt.Fprintf(a.Log, "git-vsync: warning: "+format+"\n", args...)
	}
}

func (a *App) infof(format string, args ...any) {
	if a.Log != nil {
		fmt.Fprintf(a.Log, format+"\n", args...)
	}
}

func statDir(p string) (os.FileInfo, error) { return os.Stat(p) }

func countFiles(files []vault.File) int {
	n := 0
	for _, f := range files {
		if !f.Dir {
			n++
		}
	}
	return n
}
