package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// CompletionCmd is `git vsync completion <shell>`.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

// Help is shown by `git vsync completion --help`.
func (CompletionCmd) Help() string {
	return `Prints a script that completes git vsync's commands, flags, env names and
profile names, both as ` + "`git vsync …`" + ` (through git's own completion) and as
` + "`git-vsync …`" + `. The script asks git-vsync for the candidates, so it stays right
when commands change; git-vsync must be on PATH.

Examples:
  source <(git vsync completion bash)                # in ~/.bashrc, after git's completion
  git vsync completion zsh > ~/.zfunc/_git-vsync     # with ~/.zfunc in fpath, before compinit
  git vsync completion fish > ~/.config/fish/completions/git-vsync.fish`
}

// Run prints the script.
func (c *CompletionCmd) Run(ctx *Ctx) error {
	fmt.Fprint(ctx.Stdout, completionScripts[c.Shell])
	return nil
}

// The scripts hand the words after "vsync" (the last one is the word being
// completed, possibly empty) to `git-vsync __complete`, one candidate a line back.
var completionScripts = map[string]string{
	"bash": `# bash completion for git-vsync: source <(git vsync completion bash)
# ` + "`git vsync …`" + ` completes through git's completion, which calls _git_vsync.
__git_vsync_candidates() {
	local IFS=$'\n'
	COMPREPLY=($(git-vsync __complete -- "$@" 2>/dev/null))
	if [ ${#COMPREPLY[@]} -eq 0 ]; then
		compopt -o default 2>/dev/null
	fi
	return 0
}
_git_vsync() {
	local i start=1
	for ((i = 1; i < cword; i++)); do
		if [ "${words[i]}" = vsync ]; then start=$((i + 1)); break; fi
	done
	__git_vsync_candidates "${words[@]:start:cword-start}" "${words[cword]}"
}
_git_vsync_cmd() {
	__git_vsync_candidates "${COMP_WORDS[@]:1:COMP_CWORD-1}" "${COMP_WORDS[COMP_CWORD]}"
}
complete -F _git_vsync_cmd git-vsync
`,
	"zsh": `#compdef git-vsync
# zsh completion for git-vsync: source <(git vsync completion zsh) after compinit,
# or save it as _git-vsync in a folder of fpath. ` + "`git vsync …`" + ` completes through
# zsh's _git, which calls _git-vsync.
_git-vsync() {
	local -a cands
	cands=("${(@f)$(git-vsync __complete -- "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
	cands=(${cands:#})
	if (( ${#cands} )); then
		compadd -- $cands
	else
		_files
	fi
}
if (( $+functions[compdef] )); then
	compdef _git-vsync git-vsync
fi
`,
	"fish": `# fish completion for git-vsync: git vsync completion fish | source
function __git_vsync_complete
	set -l args
	set -l seen 0
	for t in (commandline -opc)
		if test $seen = 1
			set -a args $t
		else if contains -- $t vsync git-vsync
			set seen 1
		end
	end
	git-vsync __complete -- $args (commandline -ct) 2>/dev/null
end
complete -c git-vsync -f -a '(__git_vsync_complete)'
complete -c git -n '__fish_seen_subcommand_from vsync' -f -a '(__git_vsync_complete)'
`,
}

// CompleteCmd is the hidden `git vsync __complete -- WORD… CURRENT`.
type CompleteCmd struct {
	Words []string `arg:"" optional:"" passthrough:"all" help:"The words after git vsync; the last is the one being completed."`
}

// Run prints the candidates for the last word, one a line.
func (c *CompleteCmd) Run(ctx *Ctx, kctx *kong.Context) error {
	words := c.Words
	if len(words) > 0 && words[0] == "--" {
		words = words[1:]
	}
	names := func() (envs, profiles []string) {
		return ctx.App.CompletionNames(ctx.App.Resolve(repoFlagIn(words)))
	}
	for _, cand := range completeWords(kctx.Model.Node, words, names) {
		fmt.Fprintln(ctx.Stdout, cand)
	}
	return nil
}

// repoFlagIn finds a --repo among the words, so env names come from that identity.
func repoFlagIn(words []string) string {
	for i, w := range words {
		if v, ok := strings.CutPrefix(w, "--repo="); ok {
			return v
		}
		if w == "--repo" && i+1 < len(words)-1 {
			return words[i+1]
		}
	}
	return ""
}

// completeWords returns the candidates for the last word of words given the
// command tree. names is called only when env or profile names are wanted.
func completeWords(root *kong.Node, words []string, names func() (envs, profiles []string)) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	node := root
	var args []string // positional words of the selected command
	var pending *kong.Flag
	for _, w := range words[:len(words)-1] {
		if pending != nil {
			pending = nil
			continue
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 && w != "--" {
			if f := flagNamed(node, w); f != nil && !f.IsBool() && !f.IsCounter() && !strings.Contains(w, "=") {
				pending = f
			}
			continue
		}
		if len(args) == 0 {
			if ch := childNamed(node, w); ch != nil {
				node = ch
				continue
			}
		}
		args = append(args, w)
	}
	var cands []string
	switch {
	case pending != nil:
		cands = flagValues(pending, names)
	case strings.HasPrefix(cur, "-"):
		for _, group := range node.AllFlags(true) {
			for _, f := range group {
				cands = append(cands, "--"+f.Name)
			}
		}
	case len(args) == 0 && len(visibleCommands(node)) > 0:
		for _, ch := range visibleCommands(node) {
			cands = append(cands, ch.Name)
		}
	case node.Name == "help" && node.Parent == root:
		sub := root
		for _, a := range args {
			if sub = childNamed(sub, a); sub == nil {
				return nil
			}
		}
		for _, ch := range visibleCommands(sub) {
			cands = append(cands, ch.Name)
		}
	case len(args) < len(node.Positional):
		p := node.Positional[len(args)]
		if p.Enum != "" {
			cands = p.EnumSlice()
		} else if p.Name == "env" {
			cands, _ = names()
		}
	}
	var out []string
	for _, c := range cands {
		if c != "" && strings.HasPrefix(c, cur) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// flagNamed finds the flag a word like --force, --note=x or -q names, on node or
// an ancestor.
func flagNamed(node *kong.Node, w string) *kong.Flag {
	name, _, _ := strings.Cut(w, "=")
	for _, group := range node.AllFlags(false) {
		for _, f := range group {
			if name == "--"+f.Name || (f.Short != 0 && name == "-"+string(f.Short)) {
				return f
			}
		}
	}
	return nil
}

// flagValues are the candidates for a flag's value: its enum, or profile names
// for --profile; nothing (file names, from the shell) otherwise.
func flagValues(f *kong.Flag, names func() (envs, profiles []string)) []string {
	if f.Enum != "" {
		return f.EnumSlice()
	}
	if f.Name == "profile" {
		_, profiles := names()
		return profiles
	}
	return nil
}
