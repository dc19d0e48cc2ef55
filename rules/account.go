package rules

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"

	"github.com/consentgate/consentgate/rules/config"
)

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

// compileAccount reads the secret of an account key (the file relative to
// cfg's directory, or the environment variable) and checks its length. It
// returns the key, or nil and the problems, with fields under ".account";
// valid is whether config.Validate found the account key's fields valid
// (when it did not, the key is nil and the secret is still checked, so one
// run reports both).
func compileAccount(ac *config.Account, cfg *config.Config, valid bool) (*Account, []config.Problem) {
	var probs []config.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, config.Problem{Field: ".account" + field, Msg: fmt.Sprintf(format, args...)})
	}
	if ac.Secrets() != 1 {
		return nil, nil // config.Validate reported it
	}
	var secret []byte
	switch {
	case ac.Secret != "":
		secret = []byte(ac.Secret)
	case ac.SecretFile != "":
		b, err := os.ReadFile(cfg.Path(ac.SecretFile))
		if err != nil {
			// The error names the path, never the content.
			bad(".secret_file", "cannot read the account secret: %v", err)
			return nil, probs
		}
		secret = []byte(strings.TrimRight(string(b), "\r\n"))
	default:
		v, ok := os.LookupEnv(ac.SecretEnv)
		if !ok {
			bad(".secret_env", "environment variable %s is not set", ac.SecretEnv)
			return nil, probs
		}
		secret = []byte(v)
	}
	if len(secret) < MinAccountSecret {
		bad(".secret", "the account secret is %d bytes; use at least %d random bytes (e.g. openssl rand -hex 32)", len(secret), MinAccountSecret)
	}
	if len(probs) > 0 || !valid {
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
