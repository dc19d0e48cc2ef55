package rules

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules/config"
)

func TestAccountKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("file-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CG_TEST_ACCOUNT_SECRET", "env-secret-0123456789")
	long := strings.Repeat("k", 100)
	cfgPath := filepath.Join(dir, "consentgate.yaml")
	yml := fmt.Sprintf(`upstream: http://127.0.0.1:8000
account:
  cookie: uid
  secret_file: secret
sites:
  - name: www
    hosts: [www.example.com]
  - name: shop
    hosts: [shop.example.com]
    account: {header: X-Account-Id, secret_env: CG_TEST_ACCOUNT_SECRET}
  - name: blog
    hosts: [blog.example.com]
    account: {cookie: member, secret: %q}
`, long)
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Read(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	longSum := sha256.Sum256([]byte(long))
	for i, want := range []Account{
		{Cookie: "uid", Secret: []byte("file-secret-0123456789")}, // trailing newline dropped
		{Cookie: "uid", Header: "X-Account-Id", Secret: []byte("env-secret-0123456789")},
		{Cookie: "member", Secret: longSum[:]}, // a key over the block size is hashed (RFC 2104)
	} {
		got := set.Sites()[i].Account
		if got == nil || got.Cookie != want.Cookie || got.Header != want.Header || string(got.Secret) != string(want.Secret) {
			t.Errorf("site %s: account %+v, want %+v", set.Sites()[i].Name, got, &want)
		}
		if s := fmt.Sprintf("%v %+v", got, got); strings.Contains(s, "secret-0123") {
			t.Errorf("printing the account shows the secret: %s", s)
		}
	}

	// Replicas with different secrets must report different versions.
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("another-secret-0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	set2, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if set2.Version() == set.Version() {
		t.Errorf("version %s is the same with another account secret", set.Version())
	}
	set3, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if set3.Version() != set2.Version() {
		t.Errorf("same config and secret, versions %s and %s", set2.Version(), set3.Version())
	}
}

func TestNoAccountByDefault(t *testing.T) {
	set := compileYAML(t, "upstream: http://127.0.0.1:8000\n")
	if a := set.Sites()[0].Account; a != nil {
		t.Errorf("default config has account %v", a)
	}
}
