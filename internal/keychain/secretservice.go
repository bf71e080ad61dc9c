//go:build !darwin && !windows && !js && !wasip1 && !plan9

package keychain

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// The Secret Service D-Bus API (freedesktop.org Secret Service 0.2), spoken directly.
const (
	ssDest         = "org.freedesktop.secrets"
	ssPath         = dbus.ObjectPath("/org/freedesktop/secrets")
	ssDefaultAlias = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")
	ssService      = "org.freedesktop.Secret.Service"
	ssCollection   = "org.freedesktop.Secret.Collection"
	ssItem         = "org.freedesktop.Secret.Item"
	ssSession      = "org.freedesktop.Secret.Session"
	dbusProps      = "org.freedesktop.DBus.Properties"

	// SecretSchema is the xdg:schema attribute of our items: the libsecret schema the
	// TypeScript tool (Bun.secrets) stores and looks up with.
	SecretSchema = "com.oven-sh.bun.Secret"

	// DerivedSchema is the xdg:schema attribute of the entries of DerivedService: a
	// schema of our own, so that a libsecret lookup with the TypeScript tool's schema
	// never matches them, whatever service it names.
	DerivedSchema = "dev.git-vsync.DerivedKey"
)

const (
	hintNoBus = "run inside a desktop session (or under `dbus-run-session` with gnome-keyring-daemon), " +
		"or give the key as VSYNC_KEY or VSYNC_KEY_FILE"
	hintBadBus = "DBUS_SESSION_BUS_ADDRESS names a bus that is not running: run inside your desktop session " +
		"(or `dbus-run-session`), or give the key as VSYNC_KEY or VSYNC_KEY_FILE"
	hintNoService = "start a Secret Service (gnome-keyring-daemon --start --components=secrets, KeePassXC, KWallet), " +
		"or give the key as VSYNC_KEY or VSYNC_KEY_FILE"
	hintLocked = "unlock the keyring (log in to the desktop, or unlock it in Seahorse or your password manager) and retry, " +
		"or give the key as VSYNC_KEY or VSYNC_KEY_FILE"
)

var ssBackend = backend{
	name:  "Secret Service (D-Bus)",
	stuck: "make sure your keyring (gnome-keyring, KeePassXC, KWallet) is running and unlocked",
}

// secretService is the Keychain of Linux and the BSDs. It reads
// DBUS_SESSION_BUS_ADDRESS at every call and never launches a bus. Its items carry
// the attributes service, account and xdg:schema; they are found by service and
// account.
type secretService struct{ service, schema string }

// Native returns the keychain of this platform: the Secret Service over D-Bus.
func Native() Keychain { return secretService{Service, SecretSchema} }

// NativeDerived returns the keychain of this platform for DerivedService.
func NativeDerived() Keychain { return secretService{DerivedService, DerivedSchema} }

func (secretService) Name() string { return ssBackend.name }

// ssSecret is the Secret struct (oayays) of the API.
type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

func (s secretService) Get(ctx context.Context, account string) (string, error) {
	var key string
	err := withSecretService(ctx, s.service, func(c *ssClient) error {
		unlocked, locked, err := c.search(account)
		if err != nil {
			return err
		}
		if len(unlocked) == 0 && len(locked) == 0 {
			return ssBackend.notFound(account)
		}
		if len(unlocked) == 0 {
			if unlocked, err = c.unlock(locked); err != nil {
				return err
			}
		}
		item, err := c.pick(unlocked)
		if err != nil {
			return err
		}
		var s ssSecret
		err = c.obj(item).CallWithContext(c.ctx, ssItem+".GetSecret", 0, c.session).Store(&s)
		if err != nil {
			return c.callErr(err, "cannot read the key from the Secret Service")
		}
		key = string(s.Value)
		clear(s.Value)
		return nil
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

func (s secretService) Set(ctx context.Context, account, secret string) error {
	return withSecretService(ctx, s.service, func(c *ssClient) error {
		coll, err := c.defaultCollection(true)
		if err != nil {
			return err
		}
		props := map[string]dbus.Variant{
			ssItem + ".Label": dbus.MakeVariant(s.service + "/" + account),
			ssItem + ".Attributes": dbus.MakeVariant(map[string]string{
				"service":    s.service,
				"account":    account,
				"xdg:schema": s.schema,
			}),
		}
		value := []byte(secret)
		defer clear(value)
		secret := ssSecret{Session: c.session, Parameters: []byte{}, Value: value, ContentType: "text/plain"}
		var item, prompt dbus.ObjectPath
		err = c.obj(coll).CallWithContext(c.ctx, ssCollection+".CreateItem", 0, props, secret, true).Store(&item, &prompt)
		if err != nil {
			return c.callErr(err, "cannot store the key in the Secret Service")
		}
		if item == "/" || item == "" {
			return ssBackend.unavailable(nil, hintLocked,
				"the Secret Service wants a confirmation prompt to store %s", account)
		}
		// An older item of the same account in this collection (say, one stored without
		// the xdg:schema attribute, which replace does not match) would make Get
		// ambiguous: remove it. Best effort: the new key is stored either way.
		unlocked, _, err := c.search(account)
		if err == nil {
			for _, other := range unlocked {
				if other != item && inCollection(other, coll) {
					_ = c.deleteItem(other)
				}
			}
		}
		return nil
	})
}

func (s secretService) Delete(ctx context.Context, account string) error {
	found := false // an earlier attempt found the entry, and may have deleted it
	return withSecretService(ctx, s.service, func(c *ssClient) error {
		unlocked, locked, err := c.search(account)
		if err != nil {
			return err
		}
		if len(unlocked) == 0 && len(locked) == 0 {
			if found {
				return nil // deleted by the attempt whose answer was lost
			}
			return ssBackend.notFound(account)
		}
		found = true
		if len(locked) > 0 {
			more, err := c.unlock(locked)
			if err != nil {
				return err
			}
			unlocked = append(unlocked, more...)
		}
		for _, item := range unlocked {
			if err := c.deleteItem(item); err != nil {
				return err
			}
		}
		return nil
	})
}

// ssClient is one connection with an open "plain" session, for the items of service.
type ssClient struct {
	service string
	ctx     context.Context
	conn    *dbus.Conn
	svc     dbus.BusObject
	session dbus.ObjectPath
}

// withSecretService connects to the session bus, opens a session and runs fn, all
// bounded by the per-call timeout.
//
// A Secret Service daemon can vanish under a call: gnome-keyring-daemon 42 sometimes
// aborts under load, and a supervisor (systemd, the desktop session, scripts/ci-env.sh)
// starts another. The call in flight then fails with NoReply, and the calls after it
// with ServiceUnknown until the new daemon owns the name, or with NoSession when it
// took over between two calls of one attempt. Such an attempt is run again, on a new
// connection with a new session, a few times with a short backoff (ssRetries) within
// the same timeout. fn must be safe to run again after a failure at any point: Get
// only reads, Set creates with replace, Delete takes an entry that an earlier attempt
// found and a later one does not as deleted. A bus where no Secret Service has answered in this
// call is not waited for: a machine without a keyring gets its error at once.
func withSecretService(ctx context.Context, service string, fn func(c *ssClient) error) error {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if strings.TrimSpace(addr) == "" {
		return ssBackend.unavailable(nil, hintNoBus, "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
	}
	return bounded(ctx, ssBackend, func(ctx context.Context) error {
		reached := false // a Secret Service answered or took a call in this call
		for attempt := 0; ; attempt++ {
			err := ssAttempt(ctx, addr, service, fn, &reached)
			if err == nil || attempt >= len(ssRetries) || ctx.Err() != nil || !ssVanished(err, reached) {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(ssRetries[attempt]):
			}
		}
	})
}

// ssRetries are the pauses before the attempts after the first: about 1.5 s in all,
// several times the ~0.35 s gnome-keyring takes to be back on the bus after a crash.
var ssRetries = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond,
	200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// ssAttempt is one attempt of withSecretService on a connection of its own.
func ssAttempt(ctx context.Context, addr, service string, fn func(c *ssClient) error, reached *bool) error {
	// WithContext closes the connection when ctx ends, which unblocks the
	// authentication handshake and every pending call.
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		return ssBackend.unavailable(err, hintBadBus, "cannot connect to the D-Bus session bus at %s", addr)
	}
	defer conn.Close()
	c := &ssClient{service: service, ctx: ctx, conn: conn, svc: conn.Object(ssDest, ssPath)}
	var out dbus.Variant
	err = c.svc.CallWithContext(ctx, ssService+".OpenSession", 0, "plain", dbus.MakeVariant("")).
		Store(&out, &c.session)
	if err != nil {
		if dbusErrorName(err) == ssNoReply {
			*reached = true
		}
		return c.callErr(err, "cannot open a Secret Service session")
	}
	*reached = true
	defer c.obj(c.session).CallWithContext(ctx, ssSession+".Close", dbus.FlagNoReplyExpected)
	return fn(c)
}

const ssNoReply = "org.freedesktop.DBus.Error.NoReply"

// ssVanished reports whether err is what a call gets when the Secret Service daemon
// went away under it or was replaced by another (see withSecretService). reached says
// whether a Secret Service answered earlier in this call: only then does "nobody owns
// the name" mean a daemon that is coming back rather than none at all.
func ssVanished(err error, reached bool) bool {
	switch dbusErrorName(err) {
	case ssNoReply, // the daemon left the bus with our call unanswered
		"org.freedesktop.DBus.Error.Disconnected",
		"org.freedesktop.Secret.Error.NoSession": // a new daemon does not know our session
		return true
	case "org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.NameHasNoOwner",
		// A daemon that has just taken the name may not have exported its
		// objects yet: "Method SearchItems is not implemented" was seen there.
		"org.freedesktop.DBus.Error.UnknownMethod",
		"org.freedesktop.DBus.Error.UnknownObject":
		return reached
	}
	// The connection to the bus itself broke under a call.
	return reached && (errors.Is(err, dbus.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
}

func (c *ssClient) obj(path dbus.ObjectPath) dbus.BusObject { return c.conn.Object(ssDest, path) }

// search finds the items of account in every collection by the attributes service and
// account only, so items stored by other tools with that shape are found too.
func (c *ssClient) search(account string) (unlocked, locked []dbus.ObjectPath, err error) {
	attrs := map[string]string{"service": c.service, "account": account}
	err = c.svc.CallWithContext(c.ctx, ssService+".SearchItems", 0, attrs).Store(&unlocked, &locked)
	if err != nil {
		return nil, nil, c.callErr(err, "cannot search the Secret Service")
	}
	return unlocked, locked, nil
}

// unlock unlocks objects when that needs no prompt. We never show a prompt: the call
// must not wait for a human, so a keyring that asks for its password is an error.
func (c *ssClient) unlock(objects []dbus.ObjectPath) ([]dbus.ObjectPath, error) {
	var done []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err := c.svc.CallWithContext(c.ctx, ssService+".Unlock", 0, objects).Store(&done, &prompt)
	if err != nil {
		return nil, c.callErr(err, "cannot unlock the keyring")
	}
	if len(done) == 0 {
		return nil, lockedErr()
	}
	return done, nil
}

func lockedErr() error {
	return ssBackend.unavailable(nil, hintLocked, "the Secret Service keyring is locked (unlocking it needs a password prompt)")
}

// defaultCollection returns the real path of the collection behind the alias
// "default", unlocked when unlock is set.
func (c *ssClient) defaultCollection(unlock bool) (dbus.ObjectPath, error) {
	var coll dbus.ObjectPath
	err := c.svc.CallWithContext(c.ctx, ssService+".ReadAlias", 0, "default").Store(&coll)
	if err != nil {
		if dbusErrorName(err) != "org.freedesktop.DBus.Error.UnknownMethod" {
			return "", c.callErr(err, "cannot find the default keyring")
		}
		coll = ssDefaultAlias
	}
	if coll == "/" || coll == "" {
		return "", ssBackend.unavailable(nil,
			"create a keyring and make it the default (for example in Seahorse), or give the key as VSYNC_KEY",
			"the Secret Service has no default keyring")
	}
	if !unlock {
		return coll, nil
	}
	var locked dbus.Variant
	err = c.obj(coll).CallWithContext(c.ctx, dbusProps+".Get", 0, ssCollection, "Locked").Store(&locked)
	if err != nil {
		return "", c.callErr(err, "cannot read the state of the default keyring")
	}
	if b, _ := locked.Value().(bool); b {
		if _, err := c.unlock([]dbus.ObjectPath{coll}); err != nil {
			return "", err
		}
	}
	return coll, nil
}

// pick chooses among several items of one account: those of the default collection
// first, then the most recently modified.
func (c *ssClient) pick(items []dbus.ObjectPath) (dbus.ObjectPath, error) {
	if len(items) == 1 {
		return items[0], nil
	}
	coll, err := c.defaultCollection(false)
	if err != nil {
		coll = ""
	}
	best, bestRank := items[0], -1
	var bestTime uint64
	for _, it := range items {
		rank := 0
		if coll != "" && inCollection(it, coll) {
			rank = 1
		}
		var mod dbus.Variant
		_ = c.obj(it).CallWithContext(c.ctx, dbusProps+".Get", 0, ssItem, "Modified").Store(&mod)
		t, _ := mod.Value().(uint64)
		if rank > bestRank || (rank == bestRank && t > bestTime) {
			best, bestRank, bestTime = it, rank, t
		}
	}
	return best, nil
}

func (c *ssClient) deleteItem(item dbus.ObjectPath) error {
	var prompt dbus.ObjectPath
	err := c.obj(item).CallWithContext(c.ctx, ssItem+".Delete", 0).Store(&prompt)
	if err != nil {
		return c.callErr(err, "cannot delete the key from the Secret Service")
	}
	if prompt != "/" && prompt != "" {
		return ssBackend.unavailable(nil, hintLocked, "the Secret Service wants a confirmation prompt to delete the key")
	}
	return nil
}

// inCollection reports whether item lives in the collection at path coll.
func inCollection(item, coll dbus.ObjectPath) bool {
	return strings.HasPrefix(string(item), string(coll)+"/")
}

func dbusErrorName(err error) string {
	var v dbus.Error
	if errors.As(err, &v) {
		return v.Name
	}
	var p *dbus.Error
	if errors.As(err, &p) {
		return p.Name
	}
	return ""
}

// callErr turns the error of a D-Bus call into one that says what to do.
func (c *ssClient) callErr(err error, what string) error {
	if c.ctx.Err() != nil {
		return err // bounded reports the timeout
	}
	name := dbusErrorName(err)
	switch {
	case name == "org.freedesktop.DBus.Error.ServiceUnknown",
		name == "org.freedesktop.DBus.Error.NameHasNoOwner",
		strings.HasPrefix(name, "org.freedesktop.DBus.Error.Spawn."):
		return ssBackend.unavailable(err, hintNoService, "no Secret Service on the D-Bus session bus")
	case name == "org.freedesktop.Secret.Error.IsLocked":
		return lockedErr()
	case name == "org.freedesktop.DBus.Error.AccessDenied":
		return ssBackend.unavailable(err, "allow access to the keyring, or give the key as VSYNC_KEY",
			"the Secret Service refused access")
	}
	return ssBackend.failed(err, "%s", what)
}
