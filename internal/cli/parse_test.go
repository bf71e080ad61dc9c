package cli

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

// parseOutcome is everything a parse decides: the error or exit, what it
// printed, the command selected and the values it set.
type parseOutcome struct {
	err            string
	exit           int // -1: kong did not exit
	stdout, stderr string
	command        string
	globals        Globals
	value          any // the selected top-level command's struct
	reduced        bool
}

// outcome runs one parse with p (parse or parseWhole) and records what it did.
func outcome(args []string, p func([]string, io.Writer, io.Writer) (*kong.Context, *Globals, bool, error)) (o parseOutcome) {
	var stdout, stderr bytes.Buffer
	o.exit = -1
	func() {
		defer func() {
			if r := recover(); r != nil {
				e, ok := r.(exit)
				if !ok {
					panic(r)
				}
				o.exit = e.code
			}
		}()
		kctx, g, reduced, err := p(args, &stdout, &stderr)
		o.reduced = reduced
		if err != nil {
			o.err = err.Error()
			return
		}
		o.command, o.globals = kctx.Command(), *g
		path := nodePath(kctx.Selected())
		if f, ok := cliFields().commands[path[0]]; ok {
			o.value = kctx.Model.Target.FieldByName(f.Name).Interface()
		}
	}()
	o.stdout, o.stderr = stdout.String(), stderr.String()
	return o
}

// parseWhole parses with the whole tree, as every run did before parse.
func parseWhole(args []string, stdout, stderr io.Writer) (*kong.Context, *Globals, bool, error) {
	root := new(CLI)
	p, err := newParser(root, stdout, stderr)
	if err != nil {
		return nil, nil, false, err
	}
	kctx, err := p.Parse(args)
	return kctx, &root.Globals, false, err
}

// sampleValue is a word a flag or argument accepts.
func sampleValue(v *kong.Value) string {
	if v.Enum != "" {
		return v.EnumSlice()[0]
	}
	t := v.Target.Type()
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "2s"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "3"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "1.5"
	}
	return "dev"
}

// argvCorpus is, for every command of the tree, command lines that are right
// (each flag, root flags before and after) and wrong (missing and extra
// arguments, unknown flags, typos, clashing flags), and help and version asked
// everywhere.
func argvCorpus(root *kong.Node) (corpus [][]string) {
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, ch := range n.Children {
			if ch.Type == kong.CommandNode {
				walk(ch)
			}
		}
		if n.Type != kong.CommandNode {
			return
		}
		path := nodePath(n)
		base := slices.Clone(path)
		for _, p := range n.Positional {
			base = append(base, sampleValue(p))
		}
		with := func(pre []string, words []string, post ...string) []string {
			return append(append(slices.Clone(pre), words...), post...)
		}
		typo := slices.Clone(path)
		typo[len(typo)-1] += "x"
		corpus = append(corpus,
			base, path, typo,
			with([]string{"--repo", "X"}, base), with([]string{"--repo=X", "-q"}, base, "-v"),
			with([]string{"-v"}, base, "--repo", "Y"),
			with(nil, base, "extra"), with(nil, base, "--nope"),
			with(nil, base, "-h"), with([]string{"--repo", "X"}, path, "--help"),
			with([]string{"-q"}, base, "--version"),
		)
		for _, f := range n.Flags {
			words := []string{"--" + f.Name}
			if !f.IsBool() && !f.IsCounter() {
				words = append(words, sampleValue(f.Value))
			}
			corpus = append(corpus, with(nil, base, words...))
			if f.Short != 0 {
				corpus = append(corpus, with([]string{"-q"}, base, "-"+string(f.Short)))
			}
		}
	}
	walk(root)
	return corpus
}

// otherForms are command lines in rarer shapes, which may take either model.
var otherForms = [][]string{
	{"-h"}, {"--help"}, {"--version"}, {"-x"}, {"--repo"}, {"--repo", "X"}, {"-q"},
	{"help"}, {"help", "push"}, {"help", "profile", "add"}, {"help", "nope"},
	{"--repo", "X", "push", "dev"}, {"-q", "--", "push", "dev"}, {"--", "push"},
	{"push", "--", "dev"}, {"push", "dev", "--", "-h"}, {"push", "-qh"}, {"push", "--help=true"},
	{"run", "dev", "--", "env", "-h"}, {"run", "dev", "env", "-v"},
	{"hook", "post-checkout", "a", "b", "1"}, {"hook", "nope"}, {"profile"}, {"profile", "nope"},
	{"completion", "bash"}, {"completion", "tcsh"}, {"__complete", "--", "pu"}, {"manpages", "x"},
	{"version"}, {"version", "--version"}, {"--quiet=true", "status"}, {"--repo=", "status"},
	{"push", "dev", "--note="}, {"-q", "-v", "status"},
}

// TestReducedModelParsesLikeTheWholeTree: for every command and a corpus of
// right and wrong command lines, parse (the reduced model of the named
// command where it can) decides exactly what the whole tree decides — the
// command, every value, the error, the output and the exit code — and every
// right command line of every command outside wholeTree takes the reduced model.
func TestReducedModelParsesLikeTheWholeTree(t *testing.T) {
	whole, err := newParser(&CLI{}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	corpus := argvCorpus(whole.Model.Node)
	fast := map[string]int{} // top-level command → right command lines parsed reduced
	for i, args := range append(corpus, otherForms...) {
		want, got := outcome(args, parseWhole), outcome(args, parse)
		name := fmt.Sprintf("%q", args)
		if got.err != want.err || got.exit != want.exit || got.stdout != want.stdout || got.stderr != want.stderr ||
			got.command != want.command || got.globals != want.globals || !reflect.DeepEqual(got.value, want.value) {
			t.Errorf("%s: reduced %+v\nwhole tree %+v", name, got, want)
			continue
		}
		if got.reduced && want.err != "" {
			t.Errorf("%s: an error from the reduced model", name)
		}
		if i >= len(corpus) || want.err != "" || want.exit != -1 || asksHelp(args) {
			continue
		}
		top := strings.Fields(want.command)[0]
		if wholeTree[top] {
			continue
		}
		if !got.reduced {
			t.Errorf("%s: parsed by the whole tree, want the reduced model", name)
		}
		fast[top]++
	}
	// Every command the user can name has right command lines in the corpus.
	for _, ch := range whole.Model.Node.Children {
		if ch.Type == kong.CommandNode && !wholeTree[ch.Name] && fast[ch.Name] == 0 {
			t.Errorf("no command line of %q parsed by the reduced model", ch.Name)
		}
	}
}

// TestCommandNames: the names parse finds commands and root flags by are the
// ones kong gives them in the whole tree, so no command silently loses the
// reduced model.
func TestCommandNames(t *testing.T) {
	full, err := newParser(&CLI{}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	d := cliFields()
	var names []string
	for _, ch := range full.Model.Node.Children {
		if ch.Type == kong.CommandNode {
			names = append(names, ch.Name)
			if _, ok := d.commands[ch.Name]; !ok {
				t.Errorf("command %q not found under that name", ch.Name)
			}
		}
	}
	if len(names) != len(d.commands) {
		t.Errorf("%d commands in the tree, %d fields", len(names), len(d.commands))
	}
	for _, f := range full.Model.Node.Flags {
		if f.Name == "help" || f.Name == "version" {
			continue
		}
		n := "--" + f.Name
		if !d.valued[n] && !d.bare[n] {
			t.Errorf("root flag %s not known to parse", n)
		}
		if f.Short != 0 && !d.valued["-"+string(f.Short)] && !d.bare["-"+string(f.Short)] {
			t.Errorf("root flag -%c not known to parse", f.Short)
		}
	}
}

// TestVersionTakesTheRootAlone: --version with root flags is parsed by a root
// without commands (it prints and exits before any command is needed), and
// prints what the whole tree prints; anything more takes the whole tree.
func TestVersionTakesTheRootAlone(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-q", "--version"}, {"--version", "--repo", "X"}} {
		f, ok := namedCommand(args)
		if !ok || f.Name != "" {
			t.Errorf("%q: namedCommand gives %q, %v; want the root alone", args, f.Name, ok)
		}
		if n := reducedRoot(f).NumField(); n != len(cliFields().rootFields) {
			t.Errorf("%q: a root of %d fields", args, n)
		}
		want, got := outcome(args, parseWhole), outcome(args, parse)
		if got.exit != 0 || got.stdout != want.stdout || got.stdout != "git-vsync "+version()+"\n" {
			t.Errorf("%q: exit %d, %q; the whole tree printed %q", args, got.exit, got.stdout, want.stdout)
		}
	}
	for _, args := range [][]string{{"--version", "push"}, {"--version", "-h"}, {"-q"}, {"--repo", "X"}} {
		if f, ok := namedCommand(args); ok && f.Name == "" {
			t.Errorf("%q: the root alone, want the whole tree", args)
		}
	}
}
