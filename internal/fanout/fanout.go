// Package fanout ships an env's keys onward to where production reads them (SPEC §10):
// GitHub Actions environment secrets, AWS Secrets Manager, GCP Secret Manager, Azure
// Key Vault and HashiCorp Vault KV v2. Every target first reads its current state and
// returns a Plan (create, update, unchanged, delete, …, each with a keyed fingerprint,
// never a value); Apply then writes only what the plan says.
//
// A target is one file: it implements Target and registers a Spec in its init.
package fanout

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Secret is one key to publish.
type Secret struct {
	Key   string // the dotenv key (after --inline-file-suffix)
	Value []byte
}

// Action is what a plan does with one name.
type Action string

// The actions of a plan (docs/sync.md).
const (
	Create      Action = "create"       // in the vault, not at the target
	Update      Action = "update"       // at the target with another value (or a value we cannot read)
	Unchanged   Action = "unchanged"    // at the target with this value: not written
	Delete      Action = "delete"       // ours, left the vault, --prune given
	Stale       Action = "stale"        // ours, left the vault, kept (no --prune)
	Orphan      Action = "orphan"       // at the target, not ours: never touched
	InvalidName Action = "invalid-name" // the target cannot hold this name
	TooLarge    Action = "too-large"    // the target cannot hold this value
)

// Item is one line of a plan. It never holds a value.
type Item struct {
	Key         string `json:"key,omitempty"` // dotenv key; "" for names only at the target
	Name        string `json:"name"`          // the name at the target
	Action      Action `json:"action"`
	Fingerprint string `json:"fingerprint,omitempty"` // of the value to write (keyed, see Keys)
	Reason      string `json:"reason,omitempty"`

	value []byte // what Apply writes; never serialised
}

// Plan is what a target would do. Apply accepts only a plan made by the same target.
type Plan struct {
	Target string `json:"target"` // "gh", "aws", …
	Where  string `json:"where"`  // the destination, e.g. "github.com/acme/web environment prod"
	Items  []Item `json:"items"`

	state any // the target's private reading (versions, ETags) for Apply
}

// Count returns how many items have action a.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, it := range p.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Invalid returns the items the target cannot take (invalid-name, too-large).
func (p *Plan) Invalid() []Item {
	var out []Item
	for _, it := range p.Items {
		if it.Action == InvalidName || it.Action == TooLarge {
			out = append(out, it)
		}
	}
	return out
}

// Writes reports whether applying the plan would write anything.
func (p *Plan) Writes() bool {
	return p.Count(Create)+p.Count(Update)+p.Count(Delete) > 0
}

// sortItems orders a plan by name, then key, so output is stable.
func (p *Plan) sortItems() {
	sort.SliceStable(p.Items, func(i, j int) bool {
		if p.Items[i].Name != p.Items[j].Name {
			return p.Items[i].Name < p.Items[j].Name
		}
		return p.Items[i].Key < p.Items[j].Key
	})
}

// Result is what Apply did.
type Result struct {
	Created   []string  `json:"created"`
	Updated   []string  `json:"updated"`
	Deleted   []string  `json:"deleted"`
	Unchanged int       `json:"unchanged"`
	Failed    []Failure `json:"failed,omitempty"`
}

// Failure is one name Apply could not write. Err never holds a value.
type Failure struct {
	Name string `json:"name"`
	Err  string `json:"error"`
}

// Target is one destination, configured for one env.
type Target interface {
	// Plan reads the target and compares it with secrets. prune turns owned names
	// that left the vault into deletes.
	Plan(ctx context.Context, secrets []Secret, prune bool) (*Plan, error)
	// Apply writes what p says; it refuses a plan with invalid items. Names that
	// failed are in Result.Failed; the error is for failures of the whole target.
	Apply(ctx context.Context, p *Plan) (*Result, error)
}

// Origin is what a target knows about the env it works for.
type Origin struct {
	Repo string // repository identity
	Name string // env name
	Keys *Keys
	// Ledger keeps the GitHub target's record of what it wrote (values there are
	// write-only); the app backs it with the bucket.
	Ledger Ledger
	Getenv func(string) string
	// HTTP is the client for REST targets; nil = a default with timeouts. Tests
	// give one that trusts their server.
	HTTP *http.Client
	// Credentials overrides a target's standard credential chain (tests only).
	Credentials any
	Log         io.Writer
}

// Owner is the ownership mark of this env: "<repo>/<env>".
func (e *Origin) Owner() string { return e.Repo + "/" + e.Name }

func (e *Origin) getenv(k string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(k)
}

// Route is the routing of one target: the keys of its `sync.<target>` config object.
type Route map[string]string

// Field is one routing setting: a config key of `sync.<target>` and its flag.
type Field struct {
	Key      string // config key, e.g. "repo" in sync.gh
	Flag     string // command-line flag, e.g. "gh-repo"
	Required bool
	Default  func(env string) string // nil = none
}

// Spec describes a target and makes it.
type Spec struct {
	Name   string // "gh"
	Title  string // "GitHub Actions environment secrets"
	Fields []Field
	New    func(r Route, e *Origin) (Target, error)
}

var registry = map[string]Spec{}

// lazyRE compiles pattern on first use. The name checks bound their lengths with
// counted repetitions ({1,512}), which compile into large programs: compiled at
// package init they cost every command ~10 ms of start-up (issue 15).
func lazyRE(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// register adds a target; each target file calls it from init.
func register(s Spec) { registry[s.Name] = s }

// Names returns the registered targets in the order the docs list them.
func Names() []string {
	order := []string{"gh", "aws", "gcp", "azure", "vault"}
	var out []string
	for _, n := range order {
		if _, ok := registry[n]; ok {
			out = append(out, n)
		}
	}
	var rest []string
	for n := range registry {
		if !contains(order, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// ErrRoute is a missing routing setting.
type ErrRoute struct {
	Target string
	Field  Field
}

func (e *ErrRoute) Error() string {
	return fmt.Sprintf("%s: no %s configured (sync.%s.%s)", e.Target, e.Field.Flag, e.Target, e.Field.Key)
}

// Open makes target name from its route, filling defaults and checking required fields.
func Open(name string, r Route, e *Origin) (Target, error) {
	s, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown target %q (targets: %s)", name, strings.Join(Names(), ", "))
	}
	full := Route{}
	for k, v := range r {
		full[k] = v
	}
	for _, f := range s.Fields {
		if strings.TrimSpace(full[f.Key]) == "" && f.Default != nil {
			full[f.Key] = f.Default(e.Name)
		}
		if strings.TrimSpace(full[f.Key]) == "" && f.Required {
			return nil, &ErrRoute{Target: name, Field: f}
		}
	}
	return s.New(full, e)
}

// Keys are the env-key-derived keys of the fan-out: one for the fingerprints a plan
// shows, one for the GitHub ledger, one for idempotency tokens. A fingerprint is a
// keyed hash, so it cannot be used to guess a short value offline.
type Keys struct {
	fingerprint, ledger, token []byte
}

// NewKeys derives the fan-out keys from the env's AES key.
func NewKeys(envKey []byte) *Keys {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, envKey)
		m.Write([]byte("git-vsync fanout " + label + " v1"))
		return m.Sum(nil)
	}
	return &Keys{fingerprint: derive("fingerprint"), ledger: derive("ledger"), token: derive("token")}
}

func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		var n [8]byte
		for i, l := 0, uint64(len(p)); i < 8; i++ {
			n[i] = byte(l >> (8 * i))
		}
		m.Write(n[:]) // length-prefixed, so (a,bc) and (ab,c) differ
		m.Write(p)
	}
	return m.Sum(nil)
}

// Fingerprint is the short keyed fingerprint of a value shown in plans.
func (k *Keys) Fingerprint(value []byte) string {
	return hex.EncodeToString(mac(k.fingerprint, value)[:4])
}

// LedgerMAC is what the GitHub ledger records for a name and its value.
func (k *Keys) LedgerMAC(name string, value []byte) string {
	return hex.EncodeToString(mac(k.ledger, []byte(name), value))
}

// Token is an idempotency token for writing value under name (32 hex characters):
// a retried request with the same value is recognised by APIs that take one.
func (k *Keys) Token(name string, value []byte) string {
	return hex.EncodeToString(mac(k.token, []byte(name), value)[:16])
}

// Ledger stores the GitHub target's records in the bucket, compare-and-swap.
type Ledger interface {
	// Load returns the document (nil when absent) and its ETag.
	Load(ctx context.Context, name string) (body []byte, etag string, err error)
	// Save writes it if the ETag is still etag ("" = only if absent); it returns
	// ErrConflict when someone else wrote first.
	Save(ctx context.Context, name string, body []byte, etag string) error
}

// ErrConflict is a failed compare-and-swap of the ledger.
var ErrConflict = errors.New("the ledger changed meanwhile")

// remote is one name at the target as a plan sees it.
type remote struct {
	owned bool
	known bool   // value (or its MAC) is known
	same  bool   // known and equal to the desired value
	extra string // reason detail
}

// planner is the common comparison of every target: desired secrets against what
// the target holds.
type planner struct {
	keys     *Keys
	mapName  func(key string) (string, string) // name, or "" and why not
	maxValue int
	checkVal func(value []byte) string // "" = fine, else why not (e.g. not UTF-8)
}

// desired maps the secrets to target names, marking invalid ones. Two keys that map
// to one name are both invalid: which one wins must not depend on order.
func (pl *planner) desired(secrets []Secret) (ok map[string]Item, invalid []Item) {
	ok = map[string]Item{}
	byName := map[string][]Item{}
	for _, s := range secrets {
		name, why := pl.mapName(s.Key)
		it := Item{Key: s.Key, Name: name, Fingerprint: pl.keys.Fingerprint(s.Value), value: s.Value}
		switch {
		case why != "":
			it.Name, it.Action, it.Reason = s.Key, InvalidName, why
			invalid = append(invalid, it)
			continue
		case len(s.Value) > pl.maxValue:
			it.Action, it.Reason = TooLarge, fmt.Sprintf("%d bytes, the limit is %d", len(s.Value), pl.maxValue)
			invalid = append(invalid, it)
			continue
		case pl.checkVal != nil && pl.checkVal(s.Value) != "":
			it.Action, it.Reason = InvalidName, pl.checkVal(s.Value)
			invalid = append(invalid, it)
			continue
		}
		byName[name] = append(byName[name], it)
	}
	for name, its := range byName {
		if len(its) > 1 {
			var keys []string
			for _, it := range its {
				keys = append(keys, it.Key)
			}
			sort.Strings(keys)
			for _, it := range its {
				it.Action, it.Reason = InvalidName, fmt.Sprintf("%s all map to %s", strings.Join(keys, ", "), name)
				invalid = append(invalid, it)
			}
			continue
		}
		ok[name] = its[0]
	}
	return ok, invalid
}

// compare builds the plan items from the desired names and the target's names.
func (pl *planner) compare(p *Plan, want map[string]Item, invalid []Item, have map[string]remote, prune bool) {
	p.Items = append(p.Items, invalid...)
	for name, it := range want {
		r, exists := have[name]
		switch {
		case !exists:
			it.Action = Create
		case r.known && r.same:
			it.Action = Unchanged
			if !r.owned {
				it.Reason = "not marked as ours; left as it is"
			}
		default:
			it.Action = Update
			if !r.owned {
				it.Reason = "exists, not marked as ours: will be overwritten and marked"
			} else if !r.known {
				it.Reason = r.extra
			}
		}
		p.Items = append(p.Items, it)
	}
	for name, r := range have {
		if _, ok := want[name]; ok {
			continue
		}
		if invalidHas(invalid, name) {
			continue
		}
		it := Item{Name: name}
		switch {
		case !r.owned:
			it.Action = Orphan
		case prune:
			it.Action = Delete
		default:
			it.Action, it.Reason = Stale, "ours, no longer in the vault; --prune deletes it"
		}
		p.Items = append(p.Items, it)
	}
	p.sortItems()
}

func invalidHas(items []Item, name string) bool {
	for _, it := range items {
		if it.Name == name {
			return true
		}
	}
	return false
}

// compareValues reads, four at a time, the current value of every desired name the
// target already holds and records whether it equals the one to publish. read
// returns the value, or why it cannot be known (then the name is written).
func compareValues(ctx context.Context, want map[string]Item, have map[string]remote, read func(ctx context.Context, name string) ([]byte, string)) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for name, it := range want {
		if _, ok := have[name]; !ok {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(name string, value []byte) {
			defer wg.Done()
			defer func() { <-sem }()
			cur, why := read(ctx, name)
			mu.Lock()
			defer mu.Unlock()
			r := have[name]
			if why != "" {
				r.extra = why
			} else {
				r.known, r.same = true, bytes.Equal(cur, value)
			}
			have[name] = r
		}(name, it.value)
	}
	wg.Wait()
	return ctx.Err()
}

// refuseInvalid is the check every Apply makes before its first write.
func refuseInvalid(p *Plan) error {
	if bad := p.Invalid(); len(bad) > 0 {
		var names []string
		for _, it := range bad {
			names = append(names, it.Key)
		}
		return &InvalidError{Target: p.Target, Keys: names}
	}
	return nil
}

// InvalidError: the plan has keys the target cannot take; nothing was written.
type InvalidError struct {
	Target string
	Keys   []string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s cannot take %s (see the plan); nothing was written", e.Target, strings.Join(e.Keys, ", "))
}

// concurrency bounds the parallel requests of one target.
const concurrency = 4

// each runs fn for every item with bounded concurrency and collects the result.
func each(ctx context.Context, items []Item, fn func(ctx context.Context, it Item) error) *Result {
	res := &Result{}
	var mu sync.Mutex
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, it := range items {
		switch it.Action {
		case Unchanged:
			res.Unchanged++
			continue
		case Create, Update, Delete:
		default:
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(it Item) {
			defer wg.Done()
			defer func() { <-sem }()
			err := ctx.Err()
			if err == nil {
				err = fn(ctx, it)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed = append(res.Failed, Failure{Name: it.Name, Err: redact(err.Error(), it.value)})
				return
			}
			switch it.Action {
			case Create:
				res.Created = append(res.Created, it.Name)
			case Update:
				res.Updated = append(res.Updated, it.Name)
			case Delete:
				res.Deleted = append(res.Deleted, it.Name)
			}
		}(it)
	}
	wg.Wait()
	for _, s := range [][]string{res.Created, res.Updated, res.Deleted} {
		sort.Strings(s)
	}
	sort.Slice(res.Failed, func(i, j int) bool { return res.Failed[i].Name < res.Failed[j].Name })
	return res
}

// redact removes a value from a message, in case a server echoed it.
func redact(msg string, value []byte) string {
	if len(value) >= 4 {
		msg = strings.ReplaceAll(msg, string(value), "[value]")
	}
	return msg
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
