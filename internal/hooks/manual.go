package hooks

import (
	"fmt"
	"strings"
)

// Line is the one line a shell hook needs to call git-vsync.
func Line(name string) string { return `git vsync hook ` + name + ` "$@"` }

// HuskySnippet is what husky users add (husky runs .husky/<hook> with sh, passing
// the hook's arguments and stdin).
func HuskySnippet() string {
	return `# .husky/post-checkout
git vsync hook post-checkout "$@"

# .husky/post-merge
git vsync hook post-merge "$@"

# .husky/post-rewrite
git vsync hook post-rewrite "$@" </dev/null

# .husky/pre-push  (first line: it reads the ref lines git sends on stdin)
git vsync hook pre-push "$@"
`
}

// LefthookSnippet is what lefthook users add to lefthook.yml.
func LefthookSnippet() string {
	return `# lefthook.yml
post-checkout:
  commands:
    git-vsync:
      run: git vsync hook post-checkout {1} {2} {3}
post-merge:
  commands:
    git-vsync:
      run: git vsync hook post-merge {1}
post-rewrite:
  commands:
    git-vsync:
      run: git vsync hook post-rewrite {1}
pre-push:
  commands:
    git-vsync:
      run: git vsync hook pre-push {1} {2}
      use_stdin: true
`
}

// PreCommitSnippet is what pre-commit (pre-commit.com) users add to
// .pre-commit-config.yaml. pre-commit passes no arguments and keeps stdin for
// itself; `git vsync hook` reads its PRE_COMMIT_* variables instead.
func PreCommitSnippet() string {
	return `# .pre-commit-config.yaml
default_install_hook_types: [pre-commit, post-checkout, post-merge, post-rewrite, pre-push]
repos:
  - repo: local
    hooks:
      - id: git-vsync-post-checkout
        name: git-vsync (sync vaults after checkout)
        entry: git vsync hook post-checkout
        language: system
        stages: [post-checkout]
        always_run: true
        pass_filenames: false
      - id: git-vsync-post-merge
        name: git-vsync (sync vaults after git pull / merge)
        entry: git vsync hook post-merge
        language: system
        stages: [post-merge]
        always_run: true
        pass_filenames: false
      - id: git-vsync-post-rewrite
        name: git-vsync (sync vaults after git rebase)
        entry: git vsync hook post-rewrite
        language: system
        stages: [post-rewrite]
        always_run: true
        pass_filenames: false
      - id: git-vsync-pre-push
        name: git-vsync (vaults in step before push)
        entry: git vsync hook pre-push
        language: system
        stages: [pre-push]
        always_run: true
        pass_filenames: false
# then: pre-commit install --hook-type post-checkout --hook-type post-merge --hook-type post-rewrite --hook-type pre-push
`
}

// ForeignInstructions says how to call git-vsync from a hook install left alone.
func ForeignInstructions(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: not modified: %s.\n", r.Path, r.Reason)
	switch r.Manager {
	case "husky":
		b.WriteString("  husky users add to .husky/" + r.Name + ":\n")
		b.WriteString("    " + Line(r.Name) + "\n")
	case "lefthook":
		b.WriteString("  lefthook users add to lefthook.yml (see `git vsync install --manual`):\n")
		for _, l := range strings.Split(strings.TrimSpace(lefthookPart(r.Name)), "\n") {
			b.WriteString("    " + l + "\n")
		}
	case "pre-commit":
		b.WriteString("  pre-commit users add a `repo: local` hook with `entry: git vsync hook " + r.Name + "` and `stages: [" + r.Name + "]` (see `git vsync install --manual`)\n")
	default:
		b.WriteString("  make it run this line (for a shell script, right after the #! line):\n")
		b.WriteString("    " + Line(r.Name) + "\n")
		if r.Name == "pre-push" {
			b.WriteString("  passing on the hook's arguments and its stdin, and failing when that command fails\n")
		} else {
			b.WriteString("  passing on the hook's arguments\n")
		}
	}
	return b.String()
}

func lefthookPart(name string) string {
	switch name {
	case "post-checkout":
		return "post-checkout:\n  commands:\n    git-vsync:\n      run: git vsync hook post-checkout {1} {2} {3}\n"
	case "post-merge", "post-rewrite":
		return name + ":\n  commands:\n    git-vsync:\n      run: git vsync hook " + name + " {1}\n"
	default:
		return "pre-push:\n  commands:\n    git-vsync:\n      run: git vsync hook pre-push {1} {2}\n      use_stdin: true\n"
	}
}

// ManualText is what `git vsync install --manual` prints: every way to add the
// hooks by hand. dir is the hooks folder git uses.
func ManualText(dir string) string {
	var b strings.Builder
	b.WriteString("Nothing was written. To call git-vsync from your hooks yourself:\n\n")
	fmt.Fprintf(&b, "Plain git hooks (folder %s): in each file, right after the #! line of a\n", dir)
	b.WriteString("shell script (the file must be executable):\n\n")
	for _, n := range Names {
		fmt.Fprintf(&b, "  %-14s %s\n", n+":", Line(n))
	}
	b.WriteString("\npre-push reads the ref lines git sends on stdin, so put it before anything\n")
	b.WriteString("else that reads stdin; a hook in another language runs the same command with\n")
	b.WriteString("the hook's arguments and stdin and fails when it fails. `git vsync install`\n")
	b.WriteString("would add this block (between the markers) instead:\n\n")
	for _, n := range Names {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", n, Block(n))
	}
	b.WriteString("husky:\n\n" + indent(HuskySnippet()) + "\n")
	b.WriteString("lefthook:\n\n" + indent(LefthookSnippet()) + "\n")
	b.WriteString("pre-commit:\n\n" + indent(PreCommitSnippet()))
	return b.String()
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
