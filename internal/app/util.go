package app

import (
	"fmt"
	"os"

	"github.com/git-vsync/git-vsync/internal/envelope/kdf"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/vault"
)

// deriveAES derives the AES key of a key text with its config's salt (SPEC §4.1);
// it fails only on a salt that is not one.
func deriveAES(keyText, salt string) ([]byte, error) {
	k, err := kdf.Key(keyText, salt)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "`git vsync doctor` checks the env's config, its salt included", "derive the key")
	}
	return k, nil
}

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
