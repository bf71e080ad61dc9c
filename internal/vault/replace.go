package vault

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// Replacing a vault (SPEC §5.3 step 4) is a swap of folders by renames inside the
// vault's parent folder P. For a vault P/<base> one swap uses three sibling names that
// share a random suffix X:
//
//	P/.<base>.vsync-new-X    the stage, filled with the new content
//	P/.<base>.vsync-old-X    the previous vault, between the two renames
//	P/.<base>.vsync-trash-X  the previous vault while it is being deleted
//
// Steps, and what is on disk if the process dies right after each of them:
//
//	1 begin     mkdir new-X (0700)       vault=old, new-X empty
//	2 fill      write new content        vault=old, new-X partial
//	3 filled    flush the stage, parent  vault=old, new-X complete
//	  ready     the caller's last step   vault=old, new-X complete (a pull's backup published)
//	4 retire    rename vault -> old-X    vault missing, old-X complete, new-X complete
//	5 install   rename new-X -> vault    vault=new, old-X complete     (commit point)
//	6 trash     rename old-X -> trash-X  vault=new, trash-X complete
//	7 remove    delete trash-X           vault=new, trash-X partial, then nothing
//
// When the vault did not exist before, step 4 is skipped and, until step 5, there is
// no vault and no old-X.
//
// Recover, run at the start of every command, turns each of these states into a
// plain vault (old or new, never a mix):
//
//   - trash-X is always deleted: it only ever holds a vault already replaced.
//   - Vault present: every new-X and old-X is deleted (states 1-3: the stage is an
//     abandoned, possibly partial, new vault; states 5-6: old-X is the replaced vault).
//   - Vault missing and exactly one old-X: old-X is renamed back to the vault and
//     every new-X is deleted (state 4). At that point new-X is complete too, so
//     rolling forward would be just as consistent; rolling back is chosen because the
//     interrupted command had not recorded its sync state (§6.1) yet, so the restored
//     old vault still matches the recorded state and the next command sees a clean
//     vault instead of phantom local edits. The rename in step 5 is the commit point.
//   - Vault missing and no old-X: the vault did not exist before the interrupted
//     command (first pull); every new-X is deleted and the vault stays missing.
//   - Vault missing and several old-X: impossible with one writer at a time; Recover
//     refuses (code 3) and touches nothing.
//
// Old is only ever deleted after it was renamed to trash-X, so an old-X found by
// Recover is always complete.
//
// Replace and Recover assume one command at a time per vault: the caller must
// serialise commands (a Recover running during another process's Replace deletes its
// stage, and that Replace then fails, leaving the old vault in place).

const (
	tagNew   = ".vsync-new-"
	tagOld   = ".vsync-old-"
	tagTrash = ".vsync-trash-"
)

// Replace swaps the vault folder vaultDir for a new one: fill writes the new content
// into a fresh, empty stage folder beside the vault (mode 0700); Replace then makes
// everything below the stage durable (durable.go: one syncfs, or fsyncs in
// parallel) and replaces the vault with it by renames. fill need not flush. If fill
// or a rename fails, the vault stays as it was and the stage is removed. If the
// process dies at any point, Recover leaves the old or the new vault. Missing parent
// folders are created 0700. A vault that did not exist yet is created.
//
// Once the new vault is in place, Replace returns nil even if deleting the old one
// fails; Recover deletes such leftovers later.
func Replace(vaultDir string, fill func(stageDir string) error) error {
	return ReplaceAfter(vaultDir, fill, nil)
}

// ReplaceAfter is Replace that calls ready, when not nil, once the stage is durable
// and before the current vault is moved aside; an error of ready aborts the swap
// like one of fill. A pull publishes the backup of the current vault there, so
// that the flush of the stage (one syncfs of the file system) covers it too.
func ReplaceAfter(vaultDir string, fill func(stageDir string) error, ready func() error) error {
	s, err := begin(vaultDir)
	if err != nil {
		return err
	}
	// Opened before anything is written, so that syncfs reports every write-back
	// error of what fill writes.
	fsDir, _ := os.Open(s.stage)
	if fsDir != nil {
		defer fsDir.Close()
	}
	if err := fill(s.stage); err != nil {
		s.abort()
		return err
	}
	if err := durable(s.stage, fsDir); err != nil {
		s.abort()
		return fmt.Errorf("flush the new vault to disk: %w", err)
	}
	if ready != nil {
		if err := ready(); err != nil {
			s.abort()
			return err
		}
	}
	if err := s.retire(); err != nil {
		s.abort()
		return err
	}
	if err := s.install(); err != nil {
		s.abort()
		return err
	}
	if s.trashOld() == nil {
		s.removeTrash()
	}
	return nil
}

// swap is one Replace in progress; its methods are the steps described above.
type swap struct {
	vault, parent  string
	stage, old     string
	trash          string
	hadVault       bool
	retired, moved bool
}

func splitVault(vaultDir string) (parent, base string, err error) {
	if vaultDir == "" {
		return "", "", errors.New("vault folder not set")
	}
	clean := filepath.Clean(vaultDir)
	base = filepath.Base(clean)
	if base == "." || base == ".." || base == string(filepath.Separator) || base == "" || strings.HasSuffix(clean, string(filepath.Separator)) {
		return "", "", fmt.Errorf("vault folder %q has no name of its own", vaultDir)
	}
	return filepath.Dir(clean), base, nil
}

func begin(vaultDir string) (*swap, error) {
	parent, base, err := splitVault(vaultDir)
	if err != nil {
		return nil, err
	}
	s := &swap{vault: filepath.Join(parent, base), parent: parent}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	switch fi, err := os.Lstat(s.vault); {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return nil, fail.New(fail.Refused, "point the vault folder setting at a real folder instead of a link",
			"the vault folder %q is a symbolic link; it will not be replaced", filepath.ToSlash(s.vault))
	case err == nil && !fi.IsDir():
		return nil, fail.New(fail.Refused, "move the file away or change the vault folder setting",
			"the vault folder %q is a file, not a folder", filepath.ToSlash(s.vault))
	case err == nil:
		s.hadVault = true
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	for range 10 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		x := hex.EncodeToString(b[:])
		stage := filepath.Join(parent, "."+base+tagNew+x)
		err := os.Mkdir(stage, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.stage = stage
		s.old = filepath.Join(parent, "."+base+tagOld+x)
		s.trash = filepath.Join(parent, "."+base+tagTrash+x)
		return s, nil
	}
	return nil, fmt.Errorf("cannot create a stage folder in %s", parent)
}

// retire renames the current vault out of the way (step 4).
func (s *swap) retire() error {
	atomicfile.SyncDir(s.parent)
	if !s.hadVault {
		return nil
	}
	// A rename onto an existing empty folder would succeed silently; make sure the
	// name is free.
	if _, err := os.Lstat(s.old); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s already exists", s.old)
	}
	if err := os.Rename(s.vault, s.old); err != nil {
		return fmt.Errorf("move the current vault aside: %w", err)
	}
	s.retired = true
	return nil
}

// install renames the stage into place (step 5, the commit point).
func (s *swap) install() error {
	if err := os.Rename(s.stage, s.vault); err != nil {
		return fmt.Errorf("move the new vault into place: %w", err)
	}
	s.moved = true
	atomicfile.SyncDir(s.parent)
	return nil
}

// trashOld renames the replaced vault to its trash name (step 6).
func (s *swap) trashOld() error {
	if !s.hadVault {
		return nil
	}
	if err := os.Rename(s.old, s.trash); err != nil {
		return err
	}
	atomicfile.SyncDir(s.parent)
	return nil
}

// removeTrash deletes the replaced vault (step 7).
func (s *swap) removeTrash() error {
	if !s.hadVault {
		return nil
	}
	return removeTree(s.trash)
}

// abort undoes a swap that has not been committed: the old vault goes back in place
// and the stage is removed. If putting the old vault back fails, Recover will.
func (s *swap) abort() {
	if s.moved {
		return
	}
	if s.retired {
		if os.Rename(s.old, s.vault) == nil {
			s.retired = false
		}
	}
	os.RemoveAll(s.stage)
	atomicfile.SyncDir(s.parent)
}

// Recover repairs what an interrupted Replace left beside vaultDir, so that the vault
// is the old or the new one (see the comment at the top of this file). Call it at the
// start of every command that reads or writes the vault. It does nothing when there is
// nothing to repair, including when the parent folder does not exist.
//
// mayTouch, when set, is shown the leftovers before anything is done to them (only
// when there are some), and its error stops the repair: the caller refuses those
// it did not leave (a branch that commits a folder of that name).
func Recover(vaultDir string, mayTouch func(leftovers []string) error) error {
	parent, base, err := splitVault(vaultDir)
	if err != nil {
		return err
	}
	news, olds, trash, err := leftovers(parent, base)
	if err != nil || len(news)+len(olds)+len(trash) == 0 {
		return err
	}
	if mayTouch != nil {
		if err := mayTouch(append(append(append([]string{}, news...), olds...), trash...)); err != nil {
			return err
		}
	}
	vault := filepath.Join(parent, base)
	var errs []error
	for _, t := range trash {
		errs = append(errs, removeAll(t))
	}
	_, err = os.Lstat(vault)
	switch {
	case err == nil:
		for _, d := range append(news, olds...) {
			errs = append(errs, removeAll(d))
		}
	case errors.Is(err, fs.ErrNotExist):
		if len(olds) > 1 {
			return fail.New(fail.Refused, "keep the right one as "+filepath.ToSlash(vault)+" and delete the others",
				"the vault folder %q is missing and %d earlier versions of it were left beside it: %s",
				filepath.ToSlash(vault), len(olds), strings.Join(olds, ", "))
		}
		if len(olds) == 1 {
			if err := os.Rename(olds[0], vault); err != nil {
				return fmt.Errorf("restore the vault from an interrupted replacement: %w", err)
			}
		}
		for _, d := range news {
			errs = append(errs, removeAll(d))
		}
	default:
		return err
	}
	atomicfile.SyncDir(parent)
	if err := errors.Join(errs...); err != nil {
		var left []string
		for _, d := range append(append(trash, news...), olds...) {
			if _, serr := os.Lstat(d); serr == nil {
				left = append(left, d)
			}
		}
		return &LeftoverError{Paths: left, Err: err}
	}
	return nil
}

// leftovers lists the swap folders of the vault base beside it in parent.
func leftovers(parent, base string) (news, olds, trash []string, err error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, "."+base+".vsync-") {
			continue
		}
		rest := name[len("."+base):]
		full := filepath.Join(parent, name)
		switch {
		case hasSuffixAfter(rest, tagNew):
			news = append(news, full)
		case hasSuffixAfter(rest, tagOld):
			olds = append(olds, full)
		case hasSuffixAfter(rest, tagTrash):
			trash = append(trash, full)
		}
	}
	return news, olds, trash, nil
}

// LeftoverError is a Recover that repaired the vault but could not remove some
// leftovers of an earlier replacement. The vault is usable: callers report the
// paths and go on, since leftovers never take part in a later swap.
type LeftoverError struct {
	Paths []string
	Err   error
}

func (e *LeftoverError) Error() string {
	return fmt.Sprintf("could not remove leftovers of an interrupted vault replacement (%s): %v", strings.Join(e.Paths, ", "), e.Err)
}

func (e *LeftoverError) Unwrap() error { return e.Err }

// removeAll removes leftovers; a variable so tests can make one undeletable (the
// tests run as root, which may delete anything).
var removeAll = os.RemoveAll

func hasSuffixAfter(rest, tag string) bool {
	return strings.HasPrefix(rest, tag) && len(rest) > len(tag) && !strings.ContainsAny(rest[len(tag):], `/\`)
}
