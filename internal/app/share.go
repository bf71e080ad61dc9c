package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/envelope"
	"github.com/git-vsync/git-vsync/internal/envelope/sls1"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/hooks"
	"github.com/git-vsync/git-vsync/internal/keychain"
	"github.com/git-vsync/git-vsync/internal/repo"
	"github.com/git-vsync/git-vsync/internal/store"
)

// MinSharePassphrase is the shortest passphrase export accepts. A .share file
// carries the key in full and may travel by mail or chat, so its passphrase is all
// that protects the key there. Import accepts any non-empty passphrase (files made
// by other tools).
const MinSharePassphrase = 8

// maxShareBytes bounds what import reads; a real share file is well under 4 KiB.
const maxShareBytes = 1 << 20

// maxPassphraseFile bounds a passphrase file.
const maxPassphraseFile = 4 << 10

// ShareEnvPassphrase is the environment variable import reads the passphrase from.
const ShareEnvPassphrase = "VSYNC_SHARE_PASSPHRASE"

// ExportOptions are the flags of `export`.
type ExportOptions struct {
	Out        string // "" = ~/<repo>-<env>.share, outside the work tree
	Passphrase string // "" = generate one
	Force      bool   // overwrite an existing file
	// AllowLocalStore exports an env whose store is a folder in the exporter's
	// home, which no teammate can reach (a share for oneself on this machine).
	AllowLocalStore bool
	Audit           AuditOptions
}

// ExportResult says what export wrote.
type ExportResult struct {
	Repo        string
	Env         string
	Path        string
	Passphrase  string // the generated passphrase; "" when the caller gave one
	Fingerprint string
	Warnings    []string
}

// abs resolves a command-line path against the working folder.
func (a *App) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(a.Dir, p)
}

// ReadPassphraseFile reads a passphrase from a file. One trailing line end ("\n" or
// "\r\n") is not part of the passphrase; an empty passphrase is refused.
func (a *App) ReadPassphraseFile(path string) (string, error) {
	return a.ReadSecretFile(path, "passphrase")
}

// ReadSecretFile reads a one-line secret (what names it in messages) from a file,
// without one trailing line end ("\n" or "\r\n"). Empty is refused.
func (a *App) ReadSecretFile(path, what string) (string, error) {
	b, err := atomicfile.ReadRegularFollow(a.abs(path), maxPassphraseFile)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return "", fail.New(fail.Usage, "the file should hold only the "+what, "the %s file %s is larger than %d bytes", what, path, maxPassphraseFile)
	}
	if err != nil {
		return "", fail.Wrap(fail.Usage, pathCause(err), "pass a regular file that holds the "+what+" on its first line (not a pipe or device; for a pipe use VSYNC_SHARE_PASSPHRASE)", "cannot read the %s file %s", what, path)
	}
	return secretText(b, what, "file "+path)
}

// ReadSecretStdin reads a secret from r (standard input) as ReadSecretFile reads
// a file: bounded, one trailing line end dropped, empty refused.
func (a *App) ReadSecretStdin(r io.Reader, what string) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPassphraseFile+1))
	if err != nil {
		return "", fail.Wrap(fail.Usage, err, "give the "+what+" on standard input again, or in a file (see --help)", "cannot read the %s on standard input", what)
	}
	if len(b) > maxPassphraseFile {
		return "", fail.New(fail.Usage, "the input should hold only the "+what, "the %s on standard input is larger than %d bytes", what, maxPassphraseFile)
	}
	return secretText(b, what, "on standard input")
}

// secretText is the secret in b without one trailing line end; empty is refused.
func secretText(b []byte, what, from string) (string, error) {
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\r\n"); ok {
		s = t
	} else {
		s = strings.TrimSuffix(s, "\n")
	}
	if s == "" {
		return "", fail.New(fail.Usage, "give the "+what+" (a trailing newline is ignored)", "the %s %s is empty", what, from)
	}
	return s, nil
}

// pathCause strips the path from an *os.PathError (the message names it already).
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckExportPassphrase applies export's rules to a passphrase the user chose.
func CheckExportPassphrase(p string) error {
	if p == "" {
		return fail.New(fail.Usage, "leave out --passphrase-file to get a generated one", "the passphrase is empty")
	}
	if n := utf8.RuneCountInString(p); n < MinSharePassphrase {
		return fail.New(fail.Usage, "use at least "+fmt.Sprint(MinSharePassphrase)+" characters, or leave out --passphrase-file to get a generated one (12 random characters)",
			"the passphrase has %d characters; a .share file carries the key in full, so it needs at least %d", n, MinSharePassphrase)
	}
	return nil
}

// Export writes both halves of env into a passphrase-sealed .share file (SPEC §4.5).
func (a *App) Export(ctx context.Context, target *Target, env string, o ExportOptions) (*ExportResult, error) {
	e, err := a.OpenEnv(target, env)
	if err != nil {
		return nil, err
	}
	if dir, ok := store.FileDir(e.Config.S3.Endpoint); ok && !o.AllowLocalStore && a.inHome(dir) {
		return nil, fail.New(fail.Refused,
			"move "+env+" to a store the team reaches, e.g. `git vsync config "+env+" set --profile NAME` (or `set s3.endpoint URL` and `set s3.bucket NAME`), then `git vsync push "+env+"` and export again; pass --allow-local-store if the share is only for you",
			"%s/%s keeps its versions in %s, a folder in your home that a teammate cannot reach; a share of it would point them at a store they cannot open", e.ID.Name, env, dir)
	}
	key, _, err := a.LoadKey(ctx, e.Workspace, env)
	if err != nil {
		return nil, err
	}
	res := &ExportResult{Repo: e.ID.Name, Env: env, Fingerprint: sls1.Fingerprint(key)}
	pass, generated, err := exportPassphrase(o.Passphrase)
	if err != nil {
		return nil, err
	}
	res.Passphrase = generated
	out, err := a.shareOut(e, o.Out)
	if err != nil {
		return nil, err
	}
	res.Path = out
	cfgJSON, err := shareConfigJSON(e.Config)
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintBug, "encode the config")
	}
	data, err := sls1.Seal(pass, sls1.Payload{Version: sls1.PayloadVersion, Repo: e.ID.Name, Env: env, Config: cfgJSON, Key: key})
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "seal the share file")
	}
	if err := writeNewFile(out, data, o.Force); err != nil {
		return nil, err
	}
	if _, inside := relInside(e.Repo.Top, out); inside {
		res.Warnings = append(res.Warnings, "the share file is inside the repository (git ignores it): never commit it; delete it once your teammate imported it")
	}
	a.appendAudit(ctx, e, "export", "", o.Audit, nil)
	return res, nil
}

// shareOut is where export writes: --out, else ~/<repo>-<env>.share, outside the
// work tree where a `git add -A` cannot pick up a file that holds the key. A path
// in the work tree that git would track is refused.
func (a *App) shareOut(e *EnvHandle, out string) (string, error) {
	name := e.ID.Name + "-" + e.Name + ".share"
	if out == "" {
		home, err := a.home()
		if err != nil {
			return "", fail.Wrap(fail.Usage, err, "pass --out FILE outside the repository", "find your home folder")
		}
		out = filepath.Join(home, name)
	}
	out = a.abs(out)
	if rel, inside := relInside(e.Repo.Top, out); inside && !gitIgnores(e.Repo.Repo, filepath.ToSlash(rel)) {
		return "", fail.New(fail.Refused, "write it outside the repository (leave out --out for ~/"+name+"), or to a path .gitignore covers",
			"%s is in the work tree and git would track it; a share file holds the key", out)
	}
	return out, nil
}

// relInside gives p relative to dir, and whether p is dir or below it.
func relInside(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}

// home is the user's home folder (HOME, else the OS's idea of it).
func (a *App) home() (string, error) {
	if h := a.Getenv("HOME"); h != "" {
		return h, nil
	}
	return os.UserHomeDir()
}

// inHome reports whether dir is in the user's home, or is the embedded default
// store (which may sit elsewhere through XDG_DATA_HOME): a folder only this user
// on this machine reaches.
func (a *App) inHome(dir string) bool {
	real := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	d := real(dir)
	if def, err := DefaultStoreDir(a.Getenv); err == nil {
		if _, ok := relInside(real(def), d); ok {
			return true
		}
	}
	home, err := a.home()
	if err != nil || home == "" {
		return false
	}
	_, ok := relInside(real(home), d)
	return ok
}

// shareConfigJSON is the config object a share carries: the config as on disk,
// without previousKeys (the receiver does not hold those keys).
func shareConfigJSON(c *config.File) ([]byte, error) {
	cp := *c
	cp.PreviousKeys = nil
	return cp.JSON()
}

// ImportOptions are the flags of `import`.
type ImportOptions struct {
	Force   bool // replace different halves (the old ones are kept aside)
	NoHooks bool
	Audit   AuditOptions
	// Verify reads the store's latest version and opens it with the share's key
	// before anything is written (the only network request before the halves are).
	Verify bool
	// Announce, when set, is told where the share points (store and repository)
	// once the share is decrypted and checked, before any network request.
	Announce func(store, repo, env string)
}

// ImportResult says what import did.
type ImportResult struct {
	Repo        string
	Env         string
	ShareEnv    string // the env the share was exported from
	ShareRepo   string
	Fingerprint string
	Unchanged   bool   // the same halves were already here: nothing written
	KeptKey     string // keychain account of the replaced key (--force)
	KeptConfig  string // path of the replaced config (--force)
	PinWritten  bool
	Gitignored  string
	Hooks       string // what hook installation did ("" when skipped or failed)
	Warnings    []string
}

// share is a decrypted and validated .share file.
type share struct {
	Repo   string // normalised
	Env    string // as written in the file (display only, quoted)
	Config *config.File
	Key    string
}

// validateShare checks everything in a decrypted payload that sls1 does not: the
// repo name (it becomes a folder name and a bucket prefix), the key text, and the
// config (version, store, vault folder). Errors never quote the key or credentials.
func validateShare(p sls1.Payload) (*share, error) {
	bad := func(format string, args ...any) error {
		return fail.New(fail.Integrity, "ask your teammate for a new one: `git vsync export <env>`",
			"the share file is not usable: "+format, args...)
	}
	name, err := repo.Normalise(p.Repo)
	if err == nil {
		err = repo.CheckName(name)
	}
	if err != nil {
		return nil, bad("its repository name is invalid (%v)", err)
	}
	if utf8.RuneCountInString(p.Key) < sls1.MinKeyLen {
		return nil, bad("its key is shorter than %d characters", sls1.MinKeyLen)
	}
	if !utf8.ValidString(p.Key) || strings.ContainsFunc(p.Key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError }) {
		return nil, bad("its key contains white space or control characters")
	}
	if len(p.Key) > 4096 {
		return nil, bad("its key is longer than 4096 bytes")
	}
	cfg, err := config.ParseJSON(p.Config)
	if err != nil {
		return nil, bad("its config is invalid (%v)", err)
	}
	cfg.PreviousKeys = nil // only this machine knows its own older keys
	if _, err := OpenStore(cfg); err != nil {
		return nil, bad("its store settings are invalid")
	}
	if err := checkShareEndpoint(cfg); err != nil {
		return nil, err
	}
	return &share{Repo: name, Env: p.Env, Config: cfg, Key: p.Key}, nil
}

// checkShareEndpoint refuses a share whose store would be reached over plain http
// outside this machine, unless its config says useSsl=false explicitly: a share
// is a file from someone else, and the credentials it carries sign every request.
func checkShareEndpoint(cfg *config.File) error {
	ep := strings.TrimSpace(cfg.S3.Endpoint)
	lower := strings.ToLower(ep)
	if ep == "" || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "file://") {
		return nil
	}
	if cfg.S3.UseSSL != nil && !*cfg.S3.UseSSL {
		return nil // the sender said so explicitly
	}
	if !strings.HasPrefix(lower, "http://") {
		return nil // no scheme: https unless useSsl=false (SPEC §1.1)
	}
	host := ep[len("http://"):]
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost") {
		return nil
	}
	return fail.New(fail.Refused,
		"if that store really is plain http, ask the sender to set useSsl to false in its config and export again; otherwise ask for a share with an https:// endpoint; nothing was written",
		"the share's store %s is plain http outside this machine and the share does not say useSsl=false; refusing to send its credentials there", ep)
}

// openShareFile reads and decrypts a share file; every failure is exit 6 except a
// missing file (exit 2).
func (a *App) openShareFile(file, passphrase string) (*share, error) {
	data, err := atomicfile.ReadRegularFollow(a.abs(file), maxShareBytes)
	if errors.Is(err, atomicfile.ErrTooLarge) {
		return nil, fail.New(fail.Integrity, "pass the .share file made by `git vsync export`", "%s is larger than %d bytes: not a share file", file, maxShareBytes)
	}
	if err != nil {
		return nil, fail.Wrap(fail.Usage, pathCause(err), "pass the path of the .share file your teammate sent (a regular file)", "cannot read %s", file)
	}
	p, err := sls1.Open(passphrase, data)
	if err != nil {
		return nil, shareError(err, file)
	}
	return validateShare(p)
}

func shareError(err error, file string) error {
	const again = "ask your teammate to run `git vsync export <env>` again and send the new file; nothing was written"
	switch envelope.KindOf(err) {
	case envelope.KindWrongPassphrase:
		return &fail.Error{Code: fail.KindCode(envelope.KindWrongPassphrase), Err: err,
			What: fmt.Sprintf("the passphrase does not open %s (wrong passphrase, or the file was changed on the way)", file),
			Hint: "check the passphrase with whoever sent the file (it travels on another channel than the file); nothing was written"}
	case envelope.KindUnsupportedSpecVersion:
		return fail.Envelope(err, "upgrade git-vsync, or "+again, "%s uses a format this git-vsync does not read", file)
	}
	return fail.Wrap(fail.Integrity, err, again, "%s is not a valid vsync share file", file)
}

// Import sets up env from a teammate's .share file (SPEC §4.5). Everything is
// decrypted and validated before anything is written; different existing halves
// are only replaced with Force, and then kept aside.
func (a *App) Import(ctx context.Context, target *Target, env, file, passphrase string, o ImportOptions) (*ImportResult, error) {
	if err := CheckEnv(env); err != nil {
		return nil, err
	}
	if passphrase == "" {
		return nil, fail.New(fail.Usage, "give the passphrase your teammate sent", "the passphrase is empty")
	}
	r := target.Repo
	if r == nil {
		return nil, target.Err
	}
	root, err := config.Root(a.Getenv)
	if err != nil {
		return nil, err
	}
	sh, err := a.openShareFile(file, passphrase)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(sh.Config)
	if err != nil {
		return nil, err
	}
	if o.Announce != nil {
		o.Announce(st.String(), sh.Repo, sh.Env)
	}
	id, err := target.Identity()
	switch {
	case err != nil && fail.CodeOf(err) == fail.NotSetUp:
		// No flag, pin or origin: the share says which repository this is.
		id = repo.Identity{Name: sh.Repo, Source: "share"}
	case err != nil:
		return nil, err
	case id.Name != sh.Repo:
		hint := "import it in a clone of " + sh.Repo
		if id.Source == repo.SourceOrigin {
			hint += ", or, if this clone is that repository under another URL (fork, mirror), pass --repo " + sh.Repo + " (and commit a .vsync pin with repo=" + sh.Repo + ")"
		}
		return nil, fail.New(fail.Refused, hint,
			"the share file is for repository %s, but this repository is %s (from %s); nothing was written", sh.Repo, id.Name, id.Source)
	}
	w := &Workspace{Repo: r, ID: id, ConfigRoot: root}
	res := &ImportResult{Repo: id.Name, Env: env, ShareEnv: sh.Env, ShareRepo: sh.Repo, Fingerprint: sls1.Fingerprint(sh.Key)}
	if _, src, ok, _ := keychain.FromEnv(env, a.Getenv); ok {
		res.Warnings = append(res.Warnings, "a key in the environment ("+src+") wins over the keychain entry import writes; unset it to use the imported key")
	}
	if !keychain.ValidKey(sh.Key) {
		res.Warnings = append(res.Warnings, "the share's key is not a 44-character key as git-vsync makes them; it is used as given")
	}

	if o.Verify {
		if err := a.verifyShare(ctx, w, st, sh, env); err != nil {
			return nil, err
		}
	}

	// What is here already.
	h, err := a.readHalves(ctx, w.ConfigRoot, id.Name, env)
	if err != nil {
		return nil, err
	}
	sameKey, sameCfg := h.same(sh.Config, sh.Key)
	keyOK := h.oldKey == "" || sameKey
	cfgOK := !h.cfgExists || sameCfg
	if h.oldKey != "" && h.cfgExists && sameKey && sameCfg {
		res.Unchanged = true
		return res, nil
	}
	if !(keyOK && cfgOK) && !o.Force {
		var diff []string
		if !keyOK {
			diff = append(diff, "a different key (fingerprint "+sls1.Fingerprint(h.oldKey)+", the share has "+res.Fingerprint+")")
		}
		if !cfgOK {
			diff = append(diff, "a different config")
		}
		what := fmt.Sprintf("%s/%s is already set up on this machine with %s; nothing was written", id.Name, env, strings.Join(diff, " and "))
		if sh.Env != env {
			what += fmt.Sprintf(" (the share was exported from env %q)", sh.Env)
		}
		return nil, fail.New(fail.Refused,
			"if the share is newer (after `git vsync rotate`, or a moved bucket), run again with --force: the old key stays in the keychain as "+h.account+"#<fingerprint> and the old config beside the new one",
			"%s", what)
	}
	newCfg := sh.Config
	// Derived while the halves, pin, hooks and .gitignore are written (after
	// --verify, which derived it, at once), so that the first push or pull reads it.
	arrived := a.deriveArriving(h.account, sh.Key, newCfg.Salt)
	defer arrived.wait()
	res.KeptKey, res.KeptConfig, err = a.replaceHalves(ctx, h, newCfg, sh.Key)
	if err != nil {
		return nil, err
	}

	if written, err := writePinIfAbsent(w); err != nil {
		hint := ""
		if id.Source == "share" {
			hint = "; until it exists pass --repo " + id.Name
		}
		res.Warnings = append(res.Warnings, "could not write .vsync: "+err.Error()+hint)
	} else {
		res.PinWritten = written
	}
	if line, err := ensureIgnored(r, newCfg.Vault(env)); err != nil {
		res.Warnings = append(res.Warnings, "could not update .gitignore: "+err.Error())
	} else {
		res.Gitignored = line
	}
	if !o.NoHooks {
		res.Hooks = installHooks(ctx, r, &res.Warnings)
	}
	arrived.remember(ctx)
	if e, err := a.openEnvIn(w, env); err == nil {
		a.appendAudit(ctx, e, "import", "", o.Audit, nil)
	}
	return res, nil
}

// installHooks installs the git hooks (SPEC §8) and returns the summary; problems
// are warnings (the halves are in place already).
func installHooks(ctx context.Context, r *repo.Repo, warnings *[]string) string {
	rep, err := installHooksIn(ctx, r)
	if err != nil {
		*warnings = append(*warnings, "could not install the git hooks ("+err.Error()+"); run `git vsync install` later")
		return ""
	}
	for _, h := range rep.Hooks {
		if h.Action == hooks.Manual {
			*warnings = append(*warnings, strings.TrimSpace(hooks.ForeignInstructions(h)))
		}
	}
	return rep.Summary()
}

// equivalentConfig compares two configs as JSON values, ignoring previousKeys
// (this machine's own older keys) and key order.
func equivalentConfig(a, b *config.File) bool {
	norm := func(c *config.File) any {
		js, err := shareConfigJSON(c)
		if err != nil {
			return nil
		}
		var v any
		if json.Unmarshal(js, &v) != nil {
			return nil
		}
		return v
	}
	va, vb := norm(a), norm(b)
	return va != nil && reflect.DeepEqual(va, vb)
}

// addPreviousKey puts k first in keys (newest first), without duplicates.
func addPreviousKey(keys []config.PreviousKey, k config.PreviousKey) []config.PreviousKey {
	out := []config.PreviousKey{k}
	for _, x := range keys {
		if x != k {
			out = append(out, x)
		}
	}
	return out
}

// dropPreviousKey removes the entry (fingerprint, salt) and duplicates.
func dropPreviousKey(keys []config.PreviousKey, fp, salt string) []config.PreviousKey {
	var out []config.PreviousKey
	seen := map[config.PreviousKey]bool{}
	for _, x := range keys {
		if (x.Fingerprint == fp && x.Salt == salt) || seen[x] {
			continue
		}
		seen[x] = true
		out = append(out, x)
	}
	return out
}

// verifyShare checks, before import writes anything, that the share's store
// answers and that its latest version of the env opens with the share's key.
func (a *App) verifyShare(ctx context.Context, w *Workspace, st store.Store, sh *share, env string) error {
	e := &EnvHandle{Workspace: w, Name: env, Config: sh.Config, Store: st, app: a}
	latest, _, err := e.Latest(ctx)
	if err != nil {
		return err
	}
	if latest == "" {
		return fail.New(fail.NotSetUp, "import without --verify, then `git vsync push "+env+"` the first version",
			"--verify: the store has no version of %s/%s yet; nothing was written", w.ID.Name, env)
	}
	f, err := e.download(ctx, latest)
	if err != nil {
		return store.AsFail(err, "--verify: download version "+latest)
	}
	defer f.remove()
	aesKey, err := deriveAES(sh.Key, sh.Config.Salt)
	if err != nil {
		return err
	}
	if _, err := openBundle(aesKey, f.File, f.size, latest, env); err != nil {
		return fail.Wrap(fail.Integrity, err, "ask your teammate for a fresh share (`git vsync export "+env+"`); nothing was written", "--verify")
	}
	return nil
}
