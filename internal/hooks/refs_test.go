package hooks

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	sha1a = "1111111111111111111111111111111111111111"
	zero1 = "0000000000000000000000000000000000000000"
	sha2a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
)

func TestParsePushRefs(t *testing.T) {
	in := "refs/heads/main " + sha1a + " refs/heads/main " + zero1 + "\n\n" +
		"(delete) " + zero1 + " refs/heads/old " + sha1a + "\r\n" +
		"refs/heads/x " + sha2a + " refs/heads/x " + sha2a
	refs, err := ParsePushRefs(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 3 || refs[0].LocalRef != "refs/heads/main" || refs[1].RemoteRef != "refs/heads/old" || refs[2].LocalSHA != sha2a {
		t.Fatalf("%+v", refs)
	}
	if refs[0].Deletion() || !refs[1].Deletion() || OnlyDeletions(refs) {
		t.Error("deletions misread")
	}
	if !OnlyDeletions(refs[1:2]) || !OnlyDeletions(nil) {
		t.Error("OnlyDeletions")
	}
}

func TestParsePushRefsRejects(t *testing.T) {
	for name, in := range map[string]string{
		"three fields": "refs/heads/main " + sha1a + " refs/heads/main\n",
		"five fields":  "a " + sha1a + " b " + sha1a + " c\n",
		"short sha":    "a 1234 b " + sha1a + "\n",
		"not hex":      "a " + strings.Repeat("g", 40) + " b " + sha1a + "\n",
		"tab":          "a\t" + sha1a + " b " + sha1a + "\n",
		"control":      "a\x1b[2J " + sha1a + " b " + sha1a + "\n",
		"double space": "a  " + sha1a + " b " + sha1a + "\n",
		"long line":    strings.Repeat("x", 20000) + "\n",
		"nul":          "a " + sha1a + " b\x00 " + sha1a + "\n",
	} {
		_, err := ParsePushRefs(strings.NewReader(in))
		var pe *PushInputError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err %v", name, err)
			continue
		}
		if len(pe.Error()) > 200 {
			t.Errorf("%s: message too long: %d", name, len(pe.Error()))
		}
		if strings.ContainsAny(pe.Error(), "\x1b\x00\n") {
			t.Errorf("%s: raw control bytes in message %q", name, pe.Error())
		}
	}
	if _, err := ParsePushRefs(iotest.ErrReader(errors.New("boom"))); err == nil {
		t.Error("read error ignored")
	}
	big := strings.NewReader(strings.Repeat("\n", MaxPushInput+1))
	if _, err := ParsePushRefs(big); err == nil {
		t.Error("oversized input accepted")
	}
}

func FuzzParsePushRefs(f *testing.F) {
	f.Add("refs/heads/main " + sha1a + " refs/heads/main " + zero1 + "\n")
	f.Add("(delete) " + zero1 + " refs/heads/old " + sha1a + "\n")
	f.Add("a b c d\n\n\r\n")
	f.Add("refs/heads/x " + sha2a + " refs/heads/x " + sha2a)
	f.Add("\x00\xff\xfe garbage " + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, in string) {
		refs, err := ParsePushRefs(strings.NewReader(in))
		if err != nil {
			var pe *PushInputError
			if !errors.As(err, &pe) {
				t.Fatalf("error of type %T", err)
			}
			if len(err.Error()) > 300 {
				t.Fatalf("message of %d bytes", len(err.Error()))
			}
			return
		}
		for _, r := range refs {
			if !isObjectName(r.LocalSHA) || !isObjectName(r.RemoteSHA) || r.LocalRef == "" || r.RemoteRef == "" {
				t.Fatalf("accepted %+v", r)
			}
		}
		_ = OnlyDeletions(refs)
	})
}
