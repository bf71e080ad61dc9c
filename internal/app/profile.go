package app

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/git-vsync/git-vsync/internal/config"
	"github.com/git-vsync/git-vsync/internal/fail"
	"github.com/git-vsync/git-vsync/internal/store"
)

// ProfileInput is what `profile add` saves.
type ProfileInput struct {
	Name            string
	Endpoint        string // "" = AWS S3 of Region
	Region          string // "" = AWS_REGION, else us-east-1
	Bucket          string
	Prefix          string
	AccessKeyID     string
	SecretAccessKey string
	Force           bool // replace an existing profile
}

// NamedProfile is a saved profile and its name.
type NamedProfile struct {
	Name string
	*config.Profile
}

func (a *App) profileRoot() (string, error) {
	return config.Root(a.Getenv)
}

func checkProfileName(name string) error {
	if !config.ValidProfileName(name) {
		return fail.New(fail.Usage, "use letters, digits, '.', '_' or '-' (at most 64), e.g. team-bucket", "invalid profile name %q", name)
	}
	return nil
}

// NeedsSecret reports whether a profile with this endpoint needs credentials (a
// file:// store does not).
func NeedsSecret(endpoint string) bool {
	return !strings.HasPrefix(strings.ToLower(strings.TrimSpace(endpoint)), "file:")
}

// ProfileAdd validates and saves a profile.
func (a *App) ProfileAdd(in ProfileInput) (string, error) {
	if err := checkProfileName(in.Name); err != nil {
		return "", err
	}
	root, err := a.profileRoot()
	if err != nil {
		return "", err
	}
	if in.Region == "" {
		in.Region = a.Getenv("AWS_REGION")
	}
	if in.Region == "" {
		in.Region = "us-east-1"
	}
	if in.Endpoint == "" {
		in.Endpoint = "https://s3." + in.Region + ".amazonaws.com"
	}
	if strings.TrimSpace(in.Bucket) == "" {
		return "", fail.New(fail.Usage, "pass --bucket NAME", "a profile needs a bucket")
	}
	if in.Prefix != "" && !strings.HasSuffix(in.Prefix, "/") {
		in.Prefix += "/"
	}
	if NeedsSecret(in.Endpoint) && (in.AccessKeyID == "" || in.SecretAccessKey == "") {
		return "", fail.New(fail.Usage, "pass --access-key-id, and the secret with --secret-access-key-file, AWS_SECRET_ACCESS_KEY or at the prompt",
			"an S3 profile needs an access key id and a secret access key")
	}
	if _, err := store.Open(store.Config{Endpoint: in.Endpoint, Region: in.Region, Bucket: in.Bucket, AccessKeyID: in.AccessKeyID, SecretAccessKey: in.SecretAccessKey}); err != nil {
		return "", fail.Wrap(fail.Usage, err, "use https://host[:port] or file:///path/to/folder for --endpoint", "invalid profile settings")
	}
	path := config.ProfilePath(root, in.Name)
	if _, err := os.Stat(path); err == nil && !in.Force {
		return "", fail.New(fail.Refused, "pass --force to replace it, or `git vsync profile remove "+in.Name+"` first", "profile %s already exists", in.Name)
	}
	p := &config.Profile{Endpoint: in.Endpoint, Region: in.Region, Bucket: in.Bucket, Prefix: in.Prefix, AccessKeyID: in.AccessKeyID, SecretAccessKey: in.SecretAccessKey}
	if err := config.SaveProfile(root, in.Name, p); err != nil {
		return "", fail.Wrap(fail.Failure, err, "check the permissions of "+root, "save profile %s", in.Name)
	}
	return path, nil
}

// ProfileShow reads one profile.
func (a *App) ProfileShow(name string) (*config.Profile, error) {
	if err := checkProfileName(name); err != nil {
		return nil, err
	}
	root, err := a.profileRoot()
	if err != nil {
		return nil, err
	}
	p, err := config.LoadProfile(root, name)
	if errors.Is(err, config.ErrNotFound) {
		return nil, fail.New(fail.NotSetUp, "`git vsync profile list` shows the saved ones; `git vsync profile add "+name+" …` saves one", "no profile %q", name)
	}
	if err != nil {
		return nil, fail.Wrap(fail.Failure, err, "fix or remove "+config.ProfilePath(root, name), "read profile")
	}
	return p, nil
}

// ProfileList reads every profile; unreadable ones are reported as warnings.
func (a *App) ProfileList() ([]NamedProfile, []string, error) {
	root, err := a.profileRoot()
	if err != nil {
		return nil, nil, err
	}
	names, err := config.ListProfiles(root)
	if err != nil {
		return nil, nil, fail.Wrap(fail.Failure, err, fail.HintLocal, "list profiles")
	}
	out := []NamedProfile{}
	var warnings []string
	for _, n := range names {
		p, err := config.LoadProfile(root, n)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("profile %s is unreadable: %v", n, err))
			continue
		}
		out = append(out, NamedProfile{Name: n, Profile: p})
	}
	return out, warnings, nil
}

// ProfileRemove deletes a profile.
func (a *App) ProfileRemove(name string) error {
	if err := checkProfileName(name); err != nil {
		return err
	}
	root, err := a.profileRoot()
	if err != nil {
		return err
	}
	err = config.RemoveProfile(root, name)
	if errors.Is(err, config.ErrNotFound) {
		return fail.New(fail.NotSetUp, "`git vsync profile list` shows the saved ones", "no profile %q", name)
	}
	if err != nil {
		return fail.Wrap(fail.Failure, err, fail.HintLocal, "remove profile %s", name)
	}
	return nil
}

// MaskSecret shows the first 4 characters of a long secret and its length, e.g.
// "wJal…(40 chars)"; short secrets show only their length.
func MaskSecret(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return ""
	case n < 16:
		return fmt.Sprintf("…(%d chars)", n)
	}
	r := []rune(s)
	return fmt.Sprintf("%s…(%d chars)", string(r[:4]), n)
}
