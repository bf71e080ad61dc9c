package repo

import (
	"errors"
	"strings"
	"testing"
)

func TestIdentityFromURLSpecTable(t *testing.T) {
	cases := []struct{ url, want string }{
		// The SPEC §2 table, verbatim.
		{"git@github.com:Acme/Web-App.git", "acme_web_app"},
		{"https://github.com/acme/web.git/", "acme_web"},
		{"ssh://git@gitlab.com/group/sub/repo.git", "group_sub_repo"},
		{"https://user:token@github.com/o/r.git", "o_r"},
		{"ssh://git@host.example:2222/owner/repo.git", "owner_repo"},
		{"file:///tmp/upstream.git", "upstream"},
		{"https://dev.azure.com/org/proj/_git/my-repo", "org_proj__git_my_repo"},
		{"https://github.com/Foo--Bar/My_Repo.v2.git", "foo_bar_my_repo.v2"},
		// Our own cases.
		{"  git@github.com:acme/web.git  \n", "acme_web"},
		{"github.com:acme/web", "github.comacme_web"}, // no '@': not scp-style, kept whole
		// Local paths: the last segment, like the same remote as a file:// URL.
		{"/srv/git/Team/App.git", "app"},
		{"file:///srv/git/Team/App.git", "app"},
		{"/srv/git/app/.git", "app"},
		{"file:///srv/git/app/.git/", "app"},
		{"../up-stream.git/", "up_stream"},
		{"upstream", "upstream"},
		{`C:\repos\Team\App.git`, "app"},
		{"C:/repos/App.git", "app"},
		{"file:///tmp/upstream.git/", "upstream"},
		{"https://host/a/b.git.git", "a_b"},
		{"https://github.com", ""},
		{"http://u:p@h:8080/x/y", "x_y"},
		{"git@host:/abs/path/repo.git", "abs_path_repo"},
		{"ssh://git@[::1]:22/o/r.git", "o_r"},
		{"https://github.com/ÄÖ/r", "_r"},
	}
	for _, c := range cases {
		got, err := IdentityFromURL(c.url)
		if err != nil {
			t.Errorf("%q: %v", c.url, err)
			continue
		}
		if got != c.want {
			t.Errorf("IdentityFromURL(%q) = %q, want %q", c.url, got, c.want)
		}
	}
}

func TestIdentityTooLong(t *testing.T) {
	_, err := IdentityFromURL("https://h/" + strings.Repeat("a", 101))
	var tl *ErrTooLong
	if !errors.As(err, &tl) {
		t.Fatalf("want ErrTooLong, got %v", err)
	}
	if got, err := IdentityFromURL("https://h/" + strings.Repeat("a", 100)); err != nil || len(got) != 100 {
		t.Fatalf("100 chars must pass: %q %v", got, err)
	}
}

func TestParsePin(t *testing.T) {
	p, err := ParsePin([]byte("# header\n\nrepo = ignored\nrepo=Acme/Web  \nother=x=y\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Repo != "acme_web" || p.Values["other"] != "x=y" {
		t.Fatalf("got %+v", p)
	}
	bad := map[string]string{
		"empty":      "",
		"no repo":    "foo=bar\n",
		"blank repo": "repo=   \n",
		"bad key":    "9x=1\nrepo=a\n",
		"no equals":  "repo a\n",
		"reserved":   "repo=profiles\n",
		"dots":       "repo=..\n",
		"too long":   "repo=" + strings.Repeat("b", 101) + "\n",
	}
	for name, in := range bad {
		if _, err := ParsePin([]byte(in)); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	p, err = ParsePin(FormatPin("acme_web"))
	if err != nil || p.Repo != "acme_web" {
		t.Fatalf("FormatPin round trip: %+v %v", p, err)
	}
}

func TestValidEnv(t *testing.T) {
	for _, ok := range []string{"dev", "prod", "a", "stage-2", "x_y"} {
		if !ValidEnv(ok) {
			t.Errorf("%q should be valid", ok)
		}
	}
	for _, bad := range []string{"", "Dev", "1dev", "-x", "a/b", "a.b", "dev ", "../x"} {
		if ValidEnv(bad) {
			t.Errorf("%q should be invalid", bad)
		}
	}
}

func FuzzParsePin(f *testing.F) {
	f.Add([]byte("repo=acme_web\n"))
	f.Add([]byte("# c\nrepo=x\nrepo=y\n"))
	f.Add([]byte("repo\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePin(data)
		if err == nil {
			if CheckName(p.Repo) != nil {
				t.Fatalf("accepted unusable name %q", p.Repo)
			}
		}
	})
}

func FuzzIdentityFromURL(f *testing.F) {
	f.Add("git@github.com:Acme/Web-App.git")
	f.Add("ssh://git@host.example:2222/owner/repo.git")
	f.Add("file:///tmp/upstream.git")
	f.Add("/srv/git/app/.git")
	f.Add(`C:\repos\app.git`)
	f.Fuzz(func(t *testing.T, u string) {
		name, err := IdentityFromURL(u)
		if err == nil && name != "" && len(name) > MaxNameLen {
			t.Fatalf("too long accepted")
		}
		for _, r := range name {
			if !((r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_') {
				t.Fatalf("bad char in %q", name)
			}
		}
	})
}
