package app

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/git-vsync/git-vsync/internal/envelope/rqem"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/state"
	"github.com/git-vsync/git-vsync/internal/store"
	"github.com/git-vsync/git-vsync/internal/testenv"
)

// TestPushRecordHashesUploadedBytes: the push record (kept when the swap of
// `latest` has an unknown outcome) names the SHA-256 of exactly the bytes the
// bucket holds for its version — for a small bundle, a multipart one, and one
// resealed for the next second because its slot was taken. The hash is taken
// while the bundle is sealed, not by reading it again.
func TestPushRecordHashesUploadedBytes(t *testing.T) {
	cases := []struct {
		name      string
		multipart bool
		taken     bool // the version slot of the push's second already holds an object
	}{
		{"small", false, false},
		{"multipart", true, false},
		{"resealed", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t)
			var url string
			var proxy *testenv.FaultProxy
			if tc.multipart {
				url, proxy, _ = multipartStore(t, m)
			} else {
				url, proxy = faultyStore(t, m)
			}
			a, _ := setup(t, m, url)
			if tc.multipart {
				bigVault(t, a, "keystore.p12")
			} else {
				a.write("dev", ".env.dev", "API_TOKEN=v2\n")
			}
			now := time.Now().Add(time.Hour).Truncate(time.Second)
			a.app.Now = func() time.Time { return now }
			want := rqem.FormatTS(now)
			if tc.taken {
				e, err := a.app.OpenEnv(a.app.Resolve(""), "dev")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Store.Put(bg, e.VersionKey(want), []byte("another push"), store.Cond{IfNoneMatch: true}); err != nil {
					t.Fatal(err)
				}
				want = rqem.FormatTS(now.Add(time.Second))
			}
			// The swap is refused and the store goes away: the outcome is
			// unknown, and the record stays.
			proxy.Set(testenv.FaultRule{Method: "PUT", Path: "/latest", Fault: testenv.Refuse, ThenDown: true})
			_, err := a.app.Push(bg, a.app.Resolve(""), "dev", PushOptions{Audit: AuditOptions{Disabled: true}})
			wantCode(t, err, fail.Unreachable, "unknown")
			rec := state.LoadPushing(a.app.Resolve("").Repo.StateDir(), "dev")
			if rec == nil || rec.TS != want {
				t.Fatalf("push record %+v, want one for %s", rec, want)
			}
			obj, ok := directBucket(t, a, proxy.URL)["acme_web/dev/versions/"+want+".enc"]
			if !ok || (tc.multipart && len(obj) < 10<<20) {
				t.Fatalf("version object of %d bytes", len(obj))
			}
			sum := sha256.Sum256([]byte(obj))
			if rec.Sealed != hex.EncodeToString(sum[:]) {
				t.Fatalf("recorded hash %s, the bucket's object hashes to %x", rec.Sealed, sum)
			}
		})
	}
}
