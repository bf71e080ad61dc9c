// Package hooks holds the git hook scripts git-vsync installs (SPEC §8), embedded
// in the binary. Each file is a POSIX sh script: a shebang, then one block between
// the markers "# >>> git-vsync >>>" and "# <<< git-vsync <<<" that calls
// `git vsync hook <name> "$@"`. internal/hooks installs, upgrades and removes them.
package hooks

import _ "embed"

// PostCheckout is the post-checkout script.
//
//go:embed post-checkout
var PostCheckout string

// PostMerge is the post-merge script (git merge, git pull).
//
//go:embed post-merge
var PostMerge string

// PostRewrite is the post-rewrite script (git rebase, git pull --rebase).
//
//go:embed post-rewrite
var PostRewrite string

// PrePush is the pre-push script.
//
//go:embed pre-push
var PrePush string
