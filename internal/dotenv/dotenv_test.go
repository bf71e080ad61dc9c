package dotenv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-vsync/git-vsync/internal/testenv"
)

func TestParse(t *testing.T) {
	src := "# comment\n" +
		"\n" +
		"PLAIN=value\n" +
		"SPACED = padded value   \n" +
		"export EXPORTED=1\n" +
		"COMMENTED=abc # not part\n" +
		"HASH=a#b\n" +
		"EMPTY=\n" +
		"SINGLE='it is $literal \\n'\n" +
		"DOUBLE=\"line1\\nline2\\t\\\"q\\\" \\\\ \\$x\"\n" +
		"MULTI=\"-----BEGIN\nabc\n-----END\"\n" +
		"BACK=`tick`\n" +
		"DOTTED.key-name=x\n" +
		"export=plain\n" +
		"CRLF=yes\r\n" +
		"LAST=no newline"
	entries, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Key: "PLAIN", Value: "value", Line: 3},
		{Key: "SPACED", Value: "padded value", Line: 4},
		{Key: "EXPORTED", Value: "1", Line: 5, Export: true},
		{Key: "COMMENTED", Value: "abc", Line: 6},
		{Key: "HASH", Value: "a#b", Line: 7},
		{Key: "EMPTY", Value: "", Line: 8},
		{Key: "SINGLE", Value: `it is $literal \n`, Line: 9},
		{Key: "DOUBLE", Value: "line1\nline2\t\"q\" \\ $x", Line: 10},
		{Key: "MULTI", Value: "-----BEGIN\nabc\n-----END", Line: 11},
		{Key: "BACK", Value: "tick", Line: 14},
		{Key: "DOTTED.key-name", Value: "x", Line: 15},
		{Key: "export", Value: "plain", Line: 16},
		{Key: "CRLF", Value: "yes", Line: 17},
		{Key: "LAST", Value: "no newline", Line: 18},
	}
	if len(entries) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for i := range want {
		if entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, entries[i], want[i])
		}
	}
}

func TestParseErrorsNameTheLineNotTheValue(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line int
	}{
		{"A=1\nnot an assignment s3cr3t\n", 2},
		{"A=1\nB=\"s3cr3t\n", 2},
		{"A='s3cr3t", 1},
		{"A=\"x\" s3cr3t\n", 1},
		{"=s3cr3t\n", 1},
		{"A=1\n\x00s3cr3t", 2},
		{"1A=s3cr3t\n", 1},
		// A line that is only the secret (a pasted token, a PEM body line) looks
		// like a name without '='.
		{"A=1\ns3cr3t\n", 2},
		{"A=1\nghp_s3cr3t123\n", 2},
		{"KEY=-----BEGIN\nMIIEvs3cr3t\n", 2},
		{"export s3cr3t\n", 1},
	} {
		_, err := Parse([]byte(tc.src))
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want *Error", tc.src, err)
			continue
		}
		if pe.Line != tc.line {
			t.Errorf("%q: line %d, want %d", tc.src, pe.Line, tc.line)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%q: error %q quotes the value", tc.src, err)
		}
	}
}

func TestDuplicateKeysLastWins(t *testing.T) {
	d, err := ParseDoc([]byte("A=1\nB=2\nA=3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Get("A"); v != "3" || d.Map()["A"] != "3" {
		t.Fatalf("A = %q", v)
	}
	d.Set("A", "4")
	if got := string(d.Bytes()); got != "B=2\nA=4\n" {
		t.Fatalf("after Set: %q", got)
	}
}

func TestEditKeepsTheRest(t *testing.T) {
	src := "# top\r\nexport A=1 # why\r\n\r\nB='two'\r\nC=3"
	d, err := ParseDoc([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Bytes()) != src {
		t.Fatal("unedited document changed")
	}
	d.Set("A", "new value")
	d.Delete("B")
	d.Set("D", "multi\nline")
	want := "# top\r\nexport A='new value'\r\n\r\nC=3\r\nD=\"multi\\nline\"\r\n"
	if got := string(d.Bytes()); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	back, err := Parse(d.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m := Map(back)
	if m["A"] != "new value" || m["D"] != "multi\nline" || len(m) != 3 {
		t.Fatalf("read back %v", m)
	}
}

func TestQuoteRoundTrips(t *testing.T) {
	for _, v := range []string{"", "plain", "with space", " lead", "trail ", "a#b", "a #b", "it's", `"dq"`,
		"multi\nline", "cr\rlf\r\n", "tab\there", `back\slash`, "$HOME", "`cmd`", "'both\" kinds\n", "=", "ünïcödé"} {
		line := Line("K", v)
		e, err := Parse([]byte(line + "\n"))
		if err != nil {
			t.Errorf("%q: %v (line %q)", v, err, line)
			continue
		}
		if len(e) != 1 || e[0].Value != v {
			t.Errorf("%q: read back %+v from %q", v, e, line)
		}
	}
}

func TestValidName(t *testing.T) {
	for k, want := range map[string]bool{"A": true, "_a1": true, "PATH": true, "1A": false, "A-B": false, "A.B": false, "": false, "A B": false, "Ä": false} {
		if ValidName(k) != want {
			t.Errorf("ValidName(%q) = %v", k, !want)
		}
	}
}

func TestReadFileRefusesNonRegularAndLarge(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, ".env.dev")
	if err := os.WriteFile(ok, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err := ReadFile(ok); err != nil || d.Map()["A"] != "1" {
		t.Fatalf("ReadFile: %v", err)
	}
	if _, err := ReadFile(dir); err == nil {
		t.Error("a folder was read")
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(ok, link); err == nil {
		if _, err := ReadFile(link); err == nil {
			t.Error("a symlink was followed")
		}
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte("A="+strings.Repeat("x", MaxBytes)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large file: %v", err)
	}
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "fifo")
		testenv.Mkfifo(t, fifo)
		if _, err := ReadFile(fifo); err == nil {
			t.Error("a FIFO was read")
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"A=1\n", "export B='x'\n# c\n", "C=\"a\\nb\"\r\n", "D=`x`", "E= v # c", "bad", "F=\"open"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDoc(data)
		if err != nil {
			return
		}
		src := strings.TrimPrefix(string(data), "\ufeff")
		if string(d.Bytes()) != src {
			t.Fatalf("Bytes() does not reproduce the input")
		}
		// Every value written back by Set reads back unchanged.
		for _, e := range d.Entries() {
			d.Set(e.Key, e.Value+"\n'\"")
		}
		again, err := Parse(d.Bytes())
		if err != nil {
			t.Fatalf("edited document does not parse: %v", err)
		}
		for _, e := range again {
			if !strings.HasSuffix(e.Value, "\n'\"") {
				t.Fatalf("value of %s lost its edit", e.Key)
			}
		}
	})
}
