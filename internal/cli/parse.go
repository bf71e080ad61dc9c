package cli

import (
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/alecthomas/kong"
)

// Building kong's model of the whole CLI struct (reflection, tag parsing and
// interpolation for every command and flag) costs several milliseconds of every
// run, the largest share of a hook's or a status's own work. A command line that
// plainly names one command is therefore parsed with a model of the root flags
// and that command only. Its subtree is the same as in the whole tree, so it
// parses the same words to the same values; --version alone takes the root
// flags alone. Everything else — no command, help (-h, --help, `help`),
// completion, the manual pages, and any parse error, so that the error, its
// suggestions and its exit code come from the whole tree — takes the whole
// tree. TestReducedModelParsesLikeTheWholeTree holds the two models to the same
// results.

// wholeTree are the commands that read the whole command tree.
var wholeTree = map[string]bool{"help": true, "completion": true, "__complete": true, "manpages": true}

// parse parses args (at least one word) and returns kong's context, the root
// flags, and whether the reduced model did it (for the tests).
func parse(args []string, stdout, stderr io.Writer) (kctx *kong.Context, g *Globals, reduced bool, err error) {
	if f, ok := namedCommand(args); ok {
		root := reflect.New(reducedRoot(f))
		if p, err := newParser(root.Interface(), stdout, stderr); err == nil {
			// --version alone exits inside Parse; a parse without a command
			// is the whole tree's to refuse.
			if kctx, err := p.Parse(args); err == nil && f.Name != "" {
				return kctx, root.Elem().FieldByName("Globals").Addr().Interface().(*Globals), true, nil
			}
		}
		// A mistake is reported by the whole tree, below.
	}
	root := new(CLI)
	p, err := newParser(root, stdout, stderr)
	if err != nil {
		return nil, nil, false, err
	}
	kctx, err = p.Parse(args)
	return kctx, &root.Globals, false, err
}

// cliFields describes the CLI struct once: its command fields by the word that
// names them, the root flags of Globals, and the fields that are not commands.
var cliFields = sync.OnceValue(func() (d struct {
	commands     map[string]reflect.StructField
	rootFields   []reflect.StructField
	valued, bare map[string]bool // root flags ("--repo", "-q") taking a value or not
}) {
	d.commands = map[string]reflect.StructField{}
	d.valued, d.bare = map[string]bool{}, map[string]bool{}
	t := reflect.TypeFor[CLI]()
	for i := range t.NumField() {
		f := t.Field(i)
		if _, ok := f.Tag.Lookup("cmd"); ok {
			d.commands[fieldName(f)] = f
			continue
		}
		d.rootFields = append(d.rootFields, f)
	}
	gt := reflect.TypeFor[Globals]()
	for i := range gt.NumField() {
		f := gt.Field(i)
		names := []string{"--" + fieldName(f)}
		if s := f.Tag.Get("short"); s != "" {
			names = append(names, "-"+s)
		}
		for _, n := range names {
			if f.Type.Kind() == reflect.Bool {
				d.bare[n] = true
			} else {
				d.valued[n] = true
			}
		}
	}
	return d
})

// fieldName is the word kong names a field by: its name tag, else the field's
// name in lower case (every field of CLI and Globals is one word; the test
// checks each name against the whole tree).
func fieldName(f reflect.StructField) string {
	if n := f.Tag.Get("name"); n != "" {
		return n
	}
	return strings.ToLower(f.Name)
}

// namedCommand returns the CLI field of the command args name, when they name
// one plainly: only root flags before it (no help, no "--"), a command that
// does not need the whole tree, and no help flag after it. Root flags with
// --version and no command give the zero field: a root without commands, where
// --version prints the version.
func namedCommand(args []string) (reflect.StructField, bool) {
	d := cliFields()
	version := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(a, "=")
		switch {
		case d.valued[name]:
			if !hasValue {
				i++
			}
			continue
		case d.bare[a]:
			continue
		case a == "--version":
			version = true
			continue
		case strings.HasPrefix(a, "-"):
			return reflect.StructField{}, false
		}
		if version {
			return reflect.StructField{}, false
		}
		f, ok := d.commands[a]
		if !ok || wholeTree[a] || asksHelp(args[i+1:]) {
			return reflect.StructField{}, false
		}
		return f, true
	}
	return reflect.StructField{}, version
}

// asksHelp reports whether words before a "--" could be kong's help flag
// (--help, -h, or -h among clustered short flags).
func asksHelp(words []string) bool {
	for _, w := range words {
		if w == "--" {
			return false
		}
		if w == "--help" || strings.HasPrefix(w, "--help=") ||
			(len(w) > 1 && w[0] == '-' && w[1] != '-' && strings.ContainsRune(w, 'h')) {
			return true
		}
	}
	return false
}

// reducedRoot is a struct type with the fields of CLI that are not commands
// (Globals, --version) and the one command field f (none for the zero field),
// tags and all.
func reducedRoot(f reflect.StructField) reflect.Type {
	fields := append([]reflect.StructField(nil), cliFields().rootFields...)
	if f.Name != "" {
		fields = append(fields, f)
	}
	for i := range fields {
		fields[i].Index, fields[i].Offset = nil, 0
	}
	return reflect.StructOf(fields)
}
