package app

import (
	"github.com/git-vsync/git-vsync/internal/config"
)

// CompletionNames are the names shell completion offers: the envs set up for
// this repository on this machine, and the saved profiles. Errors give no names:
// a completion must never fail loudly.
func (a *App) CompletionNames(target *Target) (envs, profiles []string) {
	if w, err := target.Get(); err == nil {
		envs, _ = config.ListEnvs(w.ConfigRoot, w.ID.Name)
		envs = addTokenEnv(envs, a.Getenv)
	}
	if root, err := a.profileRoot(); err == nil {
		profiles, _ = config.ListProfiles(root)
	}
	return envs, profiles
}
