package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/git-vsync/git-vsync/internal/atomicfile"
	"github.com/git-vsync/git-vsync/internal/fail"
)

// ManpagesCmd is the hidden `git vsync manpages DIR`: `make install` runs it with
// the installed binary, so the pages always describe that binary's commands.
type ManpagesCmd struct {
	Dir string `arg:"" help:"Folder to write git-vsync.1 and git-vsync-<command>.1 into (created when missing)." placeholder:"DIR"`
}

// Run writes one page per visible command, and git-vsync.1 for the whole tool.
func (c *ManpagesCmd) Run(ctx *Ctx, kctx *kong.Context) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fail.Wrap(fail.Failure, err, fail.HintLocal, "create %s", c.Dir)
	}
	pages := manPages(kctx.Model.Node)
	for _, p := range pages {
		if err := atomicfile.Write(filepath.Join(c.Dir, p.name+".1"), p.body, 0o644); err != nil {
			return fail.Wrap(fail.Failure, err, fail.HintLocal, "write the manual page %s", p.name)
		}
	}
	ctx.Infof("wrote %d manual pages into %s", len(pages), c.Dir)
	return nil
}

type manPage struct {
	name string // git-vsync-push
	body []byte
}

// manPages renders the root and every visible command below it.
func manPages(root *kong.Node) []manPage {
	var out []manPage
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		out = append(out, manPage{name: manName(n), body: renderMan(n)})
		for _, ch := range visibleCommands(n) {
			walk(ch)
		}
	}
	walk(root)
	return out
}

// manName is git-vsync for the root, git-vsync-profile-add for `profile add`.
func manName(n *kong.Node) string {
	return strings.Join(append([]string{"git-vsync"}, nodePath(n)...), "-")
}

// roff escapes text for a roff line: backslashes, and a leading '.' or '\” that
// roff would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// renderMan writes one page in man(7) macros.
func renderMan(n *kong.Node) []byte {
	var b bytes.Buffer
	name := manName(n)
	words := strings.Join(append([]string{"git vsync"}, nodePath(n)...), " ")
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"git-vsync %s\" \"Git Manual\"\n", strings.ToUpper(name), roff(version()))
	b.WriteString(".SH NAME\n")
	summary := n.Help
	if n.Type == kong.ApplicationNode {
		summary = "keep a team's secrets in step with its code"
	}
	fmt.Fprintf(&b, "%s \\- %s\n", name, roff(strings.TrimSuffix(summary, ".")))

	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n", roff(words))
	if n.Type == kong.ApplicationNode || len(visibleCommands(n)) > 0 {
		b.WriteString("[\\fIflags\\fR] \\fIcommand\\fR [\\fIargs\\fR]\n")
	} else {
		var args []string
		for _, p := range n.Positional {
			a := "\\fI" + roff(p.Summary()) + "\\fR"
			args = append(args, a)
		}
		b.WriteString(strings.Join(append(args, "[\\fIflags\\fR]"), " ") + "\n")
	}

	b.WriteString(".SH DESCRIPTION\n")
	detail := n.Detail
	if n.Type == kong.ApplicationNode {
		detail = description
	}
	if detail == "" {
		detail = n.Help
	}
	writeRoffText(&b, detail)

	if cmds := visibleCommands(n); len(cmds) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, ch := range cmds {
			fmt.Fprintf(&b, ".TP\n.BR %s (1)\n%s\n", manName(ch), roff(ch.Help))
		}
	}
	if len(n.Positional) > 0 {
		b.WriteString(".SH ARGUMENTS\n")
		for _, p := range n.Positional {
			fmt.Fprintf(&b, ".TP\n.I %s\n%s\n", roff(p.Summary()), roff(p.Help))
		}
	}
	if n.Type == kong.ApplicationNode {
		writeFlags(&b, "OPTIONS", n.Flags)
		b.WriteString(".SH ENVIRONMENT\n")
		for _, e := range manEnvironment {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(e[0]), roff(e[1]))
		}
		b.WriteString(".SH EXIT STATUS\n")
		for _, e := range manExitCodes {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", e[0], roff(e[1]))
		}
	} else {
		writeFlags(&b, "OPTIONS", n.Flags)
		root := n
		for root.Parent != nil {
			root = root.Parent
		}
		writeFlags(&b, "GLOBAL OPTIONS", root.Flags)
	}
	b.WriteString(".SH SEE ALSO\n")
	if n.Type == kong.ApplicationNode {
		b.WriteString(".BR git (1),\n")
	} else {
		b.WriteString(".BR git-vsync (1),\n")
	}
	b.WriteString("\\fBgit vsync help\\fR \\fIcommand\\fR\n")
	return b.Bytes()
}

// writeFlags lists the visible flags of one node.
func writeFlags(b *bytes.Buffer, title string, flags []*kong.Flag) {
	var shown []*kong.Flag
	for _, f := range flags {
		if !f.Hidden {
			shown = append(shown, f)
		}
	}
	if len(shown) == 0 {
		return
	}
	fmt.Fprintf(b, ".SH %s\n", title)
	for _, f := range shown {
		fmt.Fprintf(b, ".TP\n.B %s\n%s\n", roff(f.String()), roff(f.Help))
		var vals []string
		for _, e := range f.EnumSlice() {
			if e != "" {
				vals = append(vals, e)
			}
		}
		if len(vals) > 0 {
			fmt.Fprintf(b, "One of: %s.\n", roff(strings.Join(vals, ", ")))
		}
	}
}

// writeRoffText turns a Help() text into paragraphs: indented lines (examples)
// are kept as they are, other lines are filled by man.
func writeRoffText(b *bytes.Buffer, text string) {
	inPre := false
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		pre := strings.HasPrefix(line, "  ")
		switch {
		case strings.TrimSpace(line) == "":
			if inPre {
				b.WriteString(".fi\n.RE\n")
				inPre = false
			}
			b.WriteString(".PP\n")
			continue
		case pre && !inPre:
			b.WriteString(".RS 4\n.nf\n")
			inPre = true
		case !pre && inPre:
			b.WriteString(".fi\n.RE\n")
			inPre = false
		}
		if inPre {
			line = strings.TrimPrefix(line, "  ")
		}
		b.WriteString(roff(line) + "\n")
	}
	if inPre {
		b.WriteString(".fi\n.RE\n")
	}
}

// manEnvironment are the variables git-vsync reads, for the ENVIRONMENT section.
var manEnvironment = [][2]string{
	{"VSYNC_KEY_<ENV>, VSYNC_KEY, VSYNC_KEY_FILE", "The key of an env, instead of the OS keychain (CI, headless machines)."},
	{"VSYNC_CONFIG_<ENV>, VSYNC_CONFIG", "The disk half as a runtime token (git vsync export <env> --ci-token), instead of the config file."},
	{"VSYNC_SHARE_PASSPHRASE", "The passphrase of a .share file for import, instead of a prompt."},
	{"VSYNC_SKIP_HOOKS", "Set to 1 to turn the git hooks off."},
	{"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_REGION", "S3 credentials for init --store, and for envs whose config holds no static keys (the standard AWS chain)."},
	{"VSYNC_CONNECT_TIMEOUT, VSYNC_STORE_TIMEOUT", "How long to wait for an S3 store to accept the connection (default 3s), and to answer a request or move the next bytes of an upload or download (default 30s), e.g. 2m. A transfer that keeps moving is never cut; one that stalls fails with exit 5 and is not retried."},
	{"XDG_CONFIG_HOME", "The config folder is $XDG_CONFIG_HOME/vsync (default ~/.config/vsync)."},
	{"NO_COLOR", "Set to anything to turn colour off (colour is only used on a terminal)."},
}

var manExitCodes = [][2]string{
	{"0", "success"},
	{"1", "failure"},
	{"2", "usage (unknown command or flag, bad env name)"},
	{"3", "refused to protect data (dirty vault, remote advanced, rolled-back pointer, foreign hook)"},
	{"4", "not set up (no identity, no config, no key)"},
	{"5", "store unreachable or access denied"},
	{"6", "integrity (wrong key or passphrase, corrupt or tampered data)"},
}
