package config

import (
	"fmt"
	"net/url"
	"time"
)

// Registry is the shared opt-out registry (Redis or Valkey) that
// makes an account's opt-out follow it to every device. It is read when
// serve starts; a reload does not change it.
type Registry struct {
	// URL is redis://[USER:PASSWORD@]HOST:PORT[/DB] or rediss:// (TLS);
	// valkey:// and valkeys:// are the same. Prefer the --registry flag or
	// CONSENTGATE_REGISTRY for a URL with a password: a config file is
	// rarely secret.
	URL string `yaml:"url"`
	// Budget is the longest a request waits for the registry (default
	// 3ms); past it the other signals decide alone.
	Budget Duration `yaml:"budget"`
	// NegativeTTL is how long "this account has not opted out" is trusted
	// without asking again (default 5s): the bound on how late an opt-out
	// made through another replica is seen when its invalidation message
	// was lost.
	NegativeTTL Duration `yaml:"negative_ttl"`
	// Refresh is how often an opt-out on record is checked again in the
	// background (default 1m). An opt-out is never dropped because the
	// registry cannot be reached.
	Refresh Duration `yaml:"refresh"`
	// CacheEntries bounds the accounts whose answer is cached (default
	// 262144).
	CacheEntries int64 `yaml:"cache_entries"`
}

// Account names where a site's stable account id is and the secret
// that hashes it. Given at the top level it applies to every site without
// its own.
type Account struct {
	// Cookie is a first-party cookie holding the account id.
	Cookie string `yaml:"cookie"`
	// Header is a request header holding the account id, set by a trusted
	// front end (it is read only from --trusted-proxies).
	Header string `yaml:"header"`
	// The secret of the HMAC-SHA256 that the id is hashed with before it
	// leaves the proxy: one of Secret (inline, discouraged), SecretFile
	// (a path, e.g. a mounted Kubernetes Secret) or SecretEnv (the name of
	// an environment variable). At least 16 bytes.
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
}

// Defaults of the registry.
const (
	DefaultRegistryBudget       = 3 * time.Millisecond
	DefaultRegistryNegativeTTL  = 5 * time.Second
	DefaultRegistryRefresh      = time.Minute
	DefaultRegistryCacheEntries = 1 << 18
)

// Merge returns the site's account settings a over the defaults def (the
// top-level account): each field a sets wins; any of the three secret
// fields replaces all three. Either may be nil; it changes neither.
func (a *Account) Merge(def *Account) *Account {
	switch {
	case a == nil && def == nil:
		return nil
	case a == nil:
		c := *def
		return &c
	case def == nil:
		c := *a
		return &c
	}
	c := *def
	if a.Cookie != "" {
		c.Cookie = a.Cookie
	}
	if a.Header != "" {
		c.Header = a.Header
	}
	if a.Secret != "" || a.SecretFile != "" || a.SecretEnv != "" {
		c.Secret, c.SecretFile, c.SecretEnv = a.Secret, a.SecretFile, a.SecretEnv
	}
	return &c
}

// validate reports the problems of a registry config.
func (rc *Registry) validate(add func(field, format string, args ...any)) {
	if rc.URL != "" {
		if err := CheckRegistryURL(rc.URL); err != nil {
			add("registry.url", "%v", err)
		}
	}
	if rc.Budget > Duration(time.Second) {
		add("registry.budget", "%v is longer than a request should wait for the registry; use a few milliseconds", time.Duration(rc.Budget))
	}
	if rc.CacheEntries < 0 {
		add("registry.cache_entries", "must be positive")
	}
}

// CheckRegistryURL checks the form of a registry URL. Messages never repeat
// a password.
func CheckRegistryURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("the registry URL is not a URL (want redis://HOST:PORT or rediss://HOST:PORT)")
	}
	switch u.Scheme {
	case "redis", "rediss", "valkey", "valkeys":
		if u.Host == "" {
			return fmt.Errorf("the registry URL has no host (want %s://HOST:PORT)", u.Scheme)
		}
	case "unix":
		if u.Path == "" {
			return fmt.Errorf("the registry URL has no socket path (want unix:///path/to/redis.sock)")
		}
	default:
		return fmt.Errorf("registry URL scheme %q: want redis, rediss (TLS), valkey, valkeys or unix", u.Scheme)
	}
	return nil
}

// RedactURL returns a URL with its password replaced, for logs.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
