package gitname

import "testing"

func TestIs(t *testing.T) {
	for _, s := range []string{".git", ".GIT", ".Git", ".git.", ".git ", ".git::$INDEX_ALLOCATION", ".g\u200cit", "\ufeff.git", "GIT~1",
		".gitmodules", ".GITMODULES", ".gitattributes", ".gitignore", ".mailmap", "gitmod~1"} {
		if !Is(s) {
			t.Errorf("Is(%q) = false", s)
		}
	}
	for _, s := range []string{"git", ".gitx", "x.git", ".github", "", ".", "..", ".env.dev", "git~2", ".gitkeep"} {
		if Is(s) {
			t.Errorf("Is(%q) = true", s)
		}
	}
}

func FuzzIs(f *testing.F) {
	for _, s := range []string{".git", ".GIT::$DATA", ".g\u200dit.", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Every spelling that folds to .git is refused, whatever is around it.
		if Is(s) != reserved[fold(s)] {
			t.Fatal("Is disagrees with fold")
		}
		if Is(s) && !Is(s+".") {
			t.Fatalf("%q refused but %q not", s, s+".")
		}
	})
}
