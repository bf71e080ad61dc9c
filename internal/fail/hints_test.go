package fail

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hintArg is the position of the hint among the arguments of each constructor.
var hintArg = map[string]int{"New": 1, "Wrap": 2, "Envelope": 1}

// TestEveryErrorHasAHint reads every Go file of the module (tests excepted) and
// fails for each fail.New, fail.Wrap or fail.Envelope whose hint is the empty
// string and each fail.Error literal without a Hint: SPEC §9 gives every error
// the next command that works. A failure of the machine rather than of the
// user's setup takes HintLocal, HintSystem or HintBug, which a cause's own hint
// still overrides (HintOf).
func TestEveryErrorHasAHint(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		n, missing := checkHints(fset, f)
		checked += n
		for _, m := range missing {
			t.Error(m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 200 {
		t.Errorf("only %d constructors found: is the walk reading the module?", checked)
	}
}

// checkHints returns how many fail constructors f holds and one line for each
// that has no hint. The fail package itself is not checked.
func checkHints(fset *token.FileSet, f *ast.File) (checked int, missing []string) {
	local := ""
	for _, im := range f.Imports {
		if path, _ := strconv.Unquote(im.Path.Value); path == "github.com/git-vsync/git-vsync/internal/fail" {
			local = "fail"
			if im.Name != nil {
				local = im.Name.Name
			}
		}
	}
	if local == "" || f.Name.Name == "fail" {
		return 0, nil
	}
	failSel := func(e ast.Expr) string {
		if sel, ok := e.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == local {
				return sel.Sel.Name
			}
		}
		return ""
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			name := failSel(n.Fun)
			i, ok := hintArg[name]
			if !ok {
				return true
			}
			checked++
			if i >= len(n.Args) || isEmptyString(n.Args[i]) {
				missing = append(missing, fmt.Sprintf("%s: %s.%s without a hint", fset.Position(n.Pos()), local, name))
			}
		case *ast.CompositeLit:
			if failSel(n.Type) != "Error" {
				return true
			}
			checked++
			var hint ast.Expr
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Hint" {
						hint = kv.Value
					}
				}
			}
			if hint == nil || isEmptyString(hint) {
				missing = append(missing, fmt.Sprintf("%s: %s.Error literal without a Hint", fset.Position(n.Pos()), local))
			}
		}
		return true
	})
	return checked, missing
}

func isEmptyString(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return false
	}
	s, err := strconv.Unquote(lit.Value)
	return err == nil && s == ""
}

// TestHintCheckCatchesAMissingHint: the check above is able to fail, also with
// the package imported under another name.
func TestHintCheckCatchesAMissingHint(t *testing.T) {
	for body, want := range map[string]int{
		`_ = fail.New(fail.Usage, "", "x")`:                     1,
		`_ = fail.Wrap(fail.Usage, err, "", "x")`:               1,
		"_ = fail.Envelope(err, ``, \"x\")":                     1,
		`_ = &fail.Error{Code: fail.Usage, What: "x"}`:          1,
		`_ = fail.Error{Code: fail.Usage, What: "x", Hint: ""}`: 1,
		`_ = fail.New(fail.Usage, "git vsync init dev", "x")`:   0,
		`_ = fail.Wrap(fail.Usage, err, fail.HintLocal, "x")`:   0,
		`_ = &fail.Error{Code: fail.Usage, Hint: h, What: "x"}`: 0,
		`_ = fail.CodeOf(err)`:                                  0,
	} {
		for _, name := range []string{"", "f2"} {
			src := "package x\nimport " + name + ` "github.com/git-vsync/git-vsync/internal/fail"` + "\nfunc g(err error, h string) {\n" + body + "\n}\n"
			if name != "" {
				src = strings.ReplaceAll(src, "fail.", name+".")
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			n, missing := checkHints(fset, f)
			if len(missing) != want || (want == 1 && n != 1) {
				t.Errorf("%s: %d found, missing %v; want %d missing", src, n, missing, want)
			}
		}
	}
}
