package rules

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RegistryConfig is the shared opt-out registry (Redis or Valkey) that
// makes an account's opt-out follow it to every device. It is read when
// serve starts; a reload does not change it.
type RegistryConfig struct {
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

// AccountConfig names where a site's stable account id is and the secret
// that hashes it. Given at the top level it applies to every site without
// its own.
type AccountConfig struct {
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

// Account is a site's compiled account key. Secret must never be logged or
// printed.
type Account struct {
	Cookie string
	Header string
	Secret []byte
}

// String hides the secret from %v and %+v.
func (a *Account) String() string {
	return fmt.Sprintf("account{cookie %q, header %q, secret %d bytes}", a.Cookie, a.Header, len(a.Secret))
}

// MinAccountSecret is the shortest account secret accepted, in bytes.
const MinAccountSecret = 16

// MaxAccountID is the longest account id read; a longer value is no
// account id.
const MaxAccountID = 256

// Defaults of the registry.
const (
	DefaultRegistryBudget       = 3 * time.Millisecond
	DefaultRegistryNegativeTTL  = 5 * time.Second
	DefaultRegistryRefresh      = time.Minute
	DefaultRegistryCacheEntries = 1 << 18
)

// merge returns the site's account settings over the defaults: each field
// the site sets wins; any of the three secret fields replaces all three.
func (a *AccountConfig) merge(def *AccountConfig) *AccountConfig {
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

// compileAccount validates an account config and reads its secret. dir
// resolves a relative secret_file. Problems carry the field under
// ".account".
func compileAccount(ac *AccountConfig, dir string) (*Account, []Problem) {
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: ".account" + field, Msg: fmt.Sprintf(format, args...)})
	}
	if ac.Cookie == "" && ac.Header == "" {
		bad("", "name the cookie or the header that carries the account id (cookie: or header:)")
	}
	if ac.Cookie != "" && !validCookieName(ac.Cookie) {
		bad(".cookie", "%q is not a valid cookie name", ac.Cookie)
	}
	if ac.Header != "" && !validCookieName(ac.Header) {
		bad(".header", "%q is not a header name", ac.Header)
	}
	n := 0
	for _, s := range []string{ac.Secret, ac.SecretFile, ac.SecretEnv} {
		if s != "" {
			n++
		}
	}
	var secret []byte
	secretOK := n == 1
	switch {
	case n == 0:
		bad(".secret_file", "the account id needs a secret to be hashed with: give secret_file, secret_env or --account-secret-file (CONSENTGATE_ACCOUNT_SECRET)")
	case n > 1:
		bad(".secret", "give only one of secret, secret_file and secret_env")
	case ac.Secret != "":
		secret = []byte(ac.Secret)
	case ac.SecretFile != "":
		p := ac.SecretFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			// The error names the path, never the content.
			bad(".secret_file", "cannot read the account secret: %v", err)
			secretOK = false
		}
		secret = []byte(strings.TrimRight(string(b), "\r\n"))
	case ac.SecretEnv != "":
		v, ok := os.LookupEnv(ac.SecretEnv)
		if !ok {
			bad(".secret_env", "environment variable %s is not set", ac.SecretEnv)
			secretOK = false
		}
		secret = []byte(v)
	}
	if secretOK && len(secret) < MinAccountSecret {
		bad(".secret", "the account secret is %d bytes; use at least %d random bytes (e.g. openssl rand -hex 32)", len(secret), MinAccountSecret)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	if len(secret) > sha256.BlockSize {
		// HMAC hashes a key longer than the block first (RFC 2104 §2);
		// doing it here keeps the per-request code to one shape.
		sum := sha256.Sum256(secret)
		secret = sum[:]
	}
	return &Account{Cookie: ac.Cookie, Header: ac.Header, Secret: secret}, nil
}

// validate reports the problems of a registry config.
func (rc *RegistryConfig) validate(add func(field, format string, args ...any)) {
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
