// Package cli is the command line of git-vsync: kong commands, one file each, that
// parse flags, call a use case of internal/app and print. Nothing else lives here.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/git-vsync/git-vsync/internal/app"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

// version returns the build version: the ldflags Version (make build, make dist),
// else the module version `go install …@v1.2.3` records, else "dev".
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(Version, bi)
}

func versionOf(ldflags string, bi *debug.BuildInfo) string {
	if ldflags != "" {
		return ldflags
	}
	// "(devel)" is what a build without a module version records: not a version.
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Globals are the flags every command accepts.
type Globals struct {
	Repo    string `help:"Repository identity to use instead of the .vsync pin or the origin URL." placeholder:"NAME"`
	Quiet   bool   `short:"q" help:"Print only warnings and errors (and what --json or a secret-printing command writes on stdout)." xor:"verbosity"`
	Verbose bool   `short:"v" help:"Also print each store request and its time on stderr (never a secret)." xor:"verbosity"`
}

// Ctx is what every command's Run receives.
type Ctx struct {
	context.Context
	*Globals
	App    *app.App
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	target *app.Target
}

// Target is the workspace the command works on (the repository around the
// working folder and its identity from --repo, the pin or origin), resolved on
// first use and then passed to every use case: never resolved twice.
func (c *Ctx) Target() *app.Target {
	if c.target == nil {
		c.target = c.App.Resolve(c.Repo)
	}
	return c.target
}

// Warnf prints a warning line on stderr.
func (c *Ctx) Warnf(format string, args ...any) {
	fmt.Fprintf(c.Stderr, "git-vsync: "+label(c.Stderr, "warning:", "1;33")+" "+format+"\n", args...)
}

// JSON prints v as indented JSON on stdout: the whole output of a --json command.
func (c *Ctx) JSON(v any) error {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Infof prints a progress line on stderr (stdout is kept for --json); --quiet
// drops it.
func (c *Ctx) Infof(format string, args ...any) {
	if c.Quiet {
		return
	}
	fmt.Fprintf(c.Stderr, format+"\n", args...)
}

// CLI is the whole command tree.
type CLI struct {
	Globals

	Version kong.VersionFlag `help:"Print the version and exit."`

	Init     InitCmd     `cmd:"" help:"Set up an env on this machine: new key, config, vault folder."`
	Push     PushCmd     `cmd:"" help:"Seal the vault and publish it as the newest version."`
	Pull     PullCmd     `cmd:"" help:"Bring the newest (or a chosen) version into the vault."`
	Status   StatusCmd   `cmd:"" help:"Show the repository identity and, per env, the two halves and the vault."`
	Versions VersionsCmd `cmd:"" help:"List the versions of an env in the store."`
	Run      RunCmd      `cmd:"" help:"Run a command with an env's keys in its environment (no .env file)."`
	Env      EnvCmd      `cmd:"" help:"Print an env's keys for scripts and direnv (dotenv, json, shell, github)."`
	Get      GetCmd      `cmd:"" help:"Print the value of one key of an env."`
	Diff     DiffCmd     `cmd:"" help:"Show what changed (files, and keys of .env files) between the vault and a version, or two versions."`
	Use      UseCmd      `cmd:"" help:"Point ./.env at an env's dotenv file."`

	Export   ExportCmd   `cmd:"" help:"Write both halves of an env into a passphrase-sealed .share file."`
	Import   ImportCmd   `cmd:"" help:"Set up an env from a teammate's .share file."`
	Config   ConfigCmd   `cmd:"" help:"Show or change an env's store and credentials (the disk half)."`
	Profile  ProfileCmd  `cmd:"" help:"Manage saved buckets and credentials (add, list, show, remove)."`
	Keystore KeystoreCmd `cmd:"" help:"List, export or import every env of this machine (a .keytree file, for a new laptop)."`
	Rotate   RotateCmd   `cmd:"" help:"Replace an env's key and salt; re-seal the latest version."`
	Restore  RestoreCmd  `cmd:"" help:"List or bring back local encrypted backups of a vault."`
	Audit    AuditCmd    `cmd:"" help:"Show or verify an env's audit log."`
	Doctor   DoctorCmd   `cmd:"" help:"Check both halves, the store, the key and the hooks."`
	Sync     SyncCmd     `cmd:"" help:"Publish an env's keys to GitHub, AWS, GCP, Azure or Vault, with a plan first."`

	Install   InstallCmd   `cmd:"" help:"Install the git hooks (post-checkout, post-merge, post-rewrite, pre-push)."`
	Uninstall UninstallCmd `cmd:"" help:"Remove exactly what install added to the git hooks."`
	Hook      HookCmd      `cmd:"" hidden:"" help:"Run a git hook (called by the installed hooks)."`

	Docs       DocsCmd       `cmd:"" help:"Print a guide to setting up a bucket and least-privilege keys (AWS S3, GCS, MinIO, R2, B2)."`
	Help       HelpCmd       `cmd:"" help:"Show the help of git vsync or of one command."`
	VersionCmd VersionCmd    `cmd:"" name:"version" help:"Print the version."`
	Completion CompletionCmd `cmd:"" help:"Print a shell completion script (bash, zsh or fish)."`
	Complete   CompleteCmd   `cmd:"" name:"__complete" hidden:"" help:"Print completion candidates (called by the completion scripts)."`
	Manpages   ManpagesCmd   `cmd:"" hidden:"" help:"Write the manual pages into a folder (called by make install)."`
}

const description = `Keeps a team's secrets in step with its code.

Each environment's secrets live in a folder git ignores (infra/vault/<env>/).
git vsync seals that folder with AES-256-GCM into an S3-compatible bucket; the
key of each (repo, env) stays in your OS keychain and never in the bucket.

Exit codes: 0 ok, 1 failure, 2 usage, 3 refused to protect data, 4 not set up,
5 store unreachable or access denied, 6 integrity (wrong key, corrupt bundle),
130/143 interrupted (SIGINT/SIGTERM).`

// exit carries kong's requested exit code out of Parse without killing the process.
type exit struct{ code int }

// Main runs git-vsync with args (without the program name) and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	return run(args, stdin, stdout, stderr, nil)
}

// run is Main with an optional App (tests pass one with a test keychain).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, a *app.App) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(exit); ok {
				code = e.code
				return
			}
			// Never print the panic value: it could hold secret bytes.
			fmt.Fprintf(stderr, "git-vsync: error: internal error (a bug); please report it with the command you ran\n")
			code = int(fail.Failure)
		}
	}()
	if len(args) == 0 {
		parser, err := newParser(&CLI{}, stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "git-vsync: error: %v\n", err)
			return int(fail.Failure)
		}
		printShortUsage(stdout, parser.Model.Node)
		return 0
	}
	kctx, root, _, err := parse(args, stdout, stderr)
	if err != nil {
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			// The hint names a help that works without the manual installed.
			hint := "run `git vsync help` for the commands"
			if pe.Context != nil {
				if sel := pe.Context.Selected(); sel != nil {
					hint = "run `git vsync help " + strings.Join(nodePath(sel), " ") + "` for its arguments, flags and examples"
				}
			}
			printError(stderr, fail.New(fail.Usage, hint, "%s", err.Error()))
			return int(fail.Usage)
		}
		if root == nil {
			// The model itself could not be built: a bug, not a usage mistake.
			fmt.Fprintf(stderr, "git-vsync: error: %v\n", err)
			return int(fail.Failure)
		}
		printError(stderr, err)
		return int(fail.Usage)
	}
	if a == nil {
		a = app.New(version(), stderr)
	}
	a.Version = version()
	if !root.Quiet && isTerminal(stderr) {
		a.Progress = stderr
	}
	if root.Verbose {
		a.Trace = stderr
		start := time.Now()
		defer func() {
			fmt.Fprintf(stderr, "git-vsync: %s took %s (exit %d)\n", kctx.Command(), time.Since(start).Round(time.Millisecond), code)
		}()
	}
	ctx, got, stop := interruptible()
	if n := kctx.Selected(); n != nil && n.Name == "run" {
		// `run` passes signals on to its command and exits with the command's code;
		// a second Ctrl-C must not end git-vsync before the command (and its files).
		stop()
		ctx, got, stop = context.Background(), func() int { return 0 }, func() {}
	}
	defer stop()
	c := &Ctx{Context: ctx, Globals: root, App: a, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	err = kctx.Run(c)
	var ce childExit
	if errors.As(err, &ce) {
		return ce.code // `run`: the command's own exit code, nothing to print
	}
	if sig := got(); sig != 0 {
		// The step in flight was finished or rolled back; say what stands.
		if err == nil {
			fmt.Fprintf(stderr, "git-vsync: error: interrupted (the command had finished its work)\n")
		} else {
			printError(stderr, err)
		}
		return sig
	}
	if err != nil {
		var q quietExit
		if errors.As(err, &q) {
			return int(q)
		}
		printError(stderr, err)
		return int(fail.CodeOf(err))
	}
	return 0
}

// quietExit ends a command with its exit code and no message: the command printed
// what it had to say (status --quiet).
type quietExit fail.Code

func (q quietExit) Error() string { return fmt.Sprintf("exit %d", int(q)) }

// interruptible returns a context cancelled by SIGINT or SIGTERM and a function
// giving the exit code the signal asks for (130, 143; 0 without a signal). The
// command then finishes or rolls back the step in flight and removes its temp
// files; a second signal ends the process at once.
func interruptible() (ctx context.Context, got func() int, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, interruptSignals...)
	var code atomic.Int32
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			code.Store(int32(signalExitCode(s)))
			cancel()
		case <-done:
			return
		}
		select {
		case s := <-ch:
			os.Exit(signalExitCode(s))
		case <-done:
		}
	}()
	return ctx, func() int { return int(code.Load()) }, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}

// interruptSignals end a command early: Ctrl-C, and the polite kill of a CI runner
// or a service manager (syscall.SIGTERM exists on every platform Go builds for).
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// signalExitCode is 128 + the signal number, as shells report a death by signal.
func signalExitCode(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

// helpOptions is how kong prints --help and `git vsync help`.
var helpOptions = kong.HelpOptions{Compact: true, NoExpandSubcommands: true}

// newParser builds the kong parser of root: a *CLI (the whole command tree, also
// used to write the manual pages and to complete words) or the reduced root of
// parse.
func newParser(root any, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(root,
		kong.Name("git-vsync"),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(exit{c}) }),
		kong.Vars{"version": "git-vsync " + version()},
		kong.ConfigureHelp(helpOptions),
	)
}

// printError writes the two lines of SPEC §9; every error gets a hint (fail.HintFor).
func printError(w io.Writer, err error) {
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(w, "git-vsync: %s %s\n", label(w, "error:", "1;31"), msg)
	fmt.Fprintf(w, "git-vsync: %s %s\n", label(w, "hint:", "1;36"), fail.HintFor(err))
}
