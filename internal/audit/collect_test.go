package audit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/store"
)

func TestOptionsCheck(t *testing.T) {
	if err := (Options{Meta: []string{"a=1", "b="}}).Check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"novalue", "=x", " =x"} {
		err := Options{Meta: []string{bad}}.Check()
		if fail.CodeOf(err) != fail.Usage || fail.HintOf(err) == "" || !strings.Contains(err.Error(), fmt.Sprintf("invalid --meta %q", bad)) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestCollectMetaPrecedence: environment, then flags, then the command's facts;
// the log's own keys are dropped with a warning and a bad VSYNC_AUDIT_META is
// never echoed.
func TestCollectMetaPrecedence(t *testing.T) {
	env := map[string]string{MetaEnv: `{"ticket":"env","ci":"yes","prev":"forged"}`, NoteEnv: "env note", "USER": "someone"}
	var warnings []string
	warnf := func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	r := Collect(Action{
		Name: "push", VersionTS: "20260102T020405Z", Time: at, GitEmail: "dev@example.invalid", Version: "1.2.3",
		Options: Options{Note: "flag note", Meta: []string{"ticket=flag", "bad"}},
		Extra:   map[string]any{"ci": "command"},
	}, func(k string) string { return env[k] }, warnf)
	if r.TS != at.UTC().Format(TimeLayout) || r.Action != "push" || r.GitEmail != "dev@example.invalid" || r.VsyncVersion != VsyncPrefix+"1.2.3" || r.OSUser == "" {
		t.Errorf("row %+v", r)
	}
	want := map[string]any{"ticket": "flag", "ci": "command", MetaNote: "flag note"}
	if fmt.Sprint(r.Meta) != fmt.Sprint(want) {
		t.Errorf("meta %v, want %v", r.Meta, want)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], `"bad"`) || !strings.Contains(warnings[1], `"prev"`) {
		t.Errorf("warnings %q", warnings)
	}
	warnings = nil
	env[MetaEnv] = `{"secret-looking value`
	_ = Collect(Action{Name: "pull"}, func(k string) string { return env[k] }, warnf)
	if len(warnings) != 1 || strings.Contains(warnings[0], "secret-looking") {
		t.Errorf("warnings %q", warnings)
	}
}

// TestAppendToConcurrent: writers racing on one log (a real file store) all land
// their row, and the chain verifies.
func TestAppendToConcurrent(t *testing.T) {
	st, err := store.Open(store.Config{Endpoint: store.FileURL(t.TempDir()), Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = AppendTo(context.Background(), st, "r/dev/audit.csv",
				Row{TS: time.Now().UTC().Format(TimeLayout), Action: "push", Meta: map[string]any{"n": i}})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	body, _, err := store.GetLimited(context.Background(), st, "r/dev/audit.csv", MaxLogSize)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(body)
	if err != nil || rep.Rows != writers || rep.Chained != writers {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
