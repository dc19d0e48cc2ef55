package reload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
)

func configWithSite(name string) []byte {
	return fmt.Appendf(nil, "upstream: http://127.0.0.1:8080\nsites:\n  - name: %s\n    hosts: [\"*\"]\n", name)
}

// loaded returns a holder that loaded config, written to c.yaml in a
// temporary folder, and the file's path.
func loaded(t *testing.T, config []byte, grace time.Duration) (*Holder, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, path, config)
	h := NewHolder(nil)
	h.Grace = grace
	t.Cleanup(h.Close)
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	return h, path
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHolderReloadUnderLoad swaps the set 100 times while readers look up
// hosts, sites and cookies; run with -race.
func TestHolderReloadUnderLoad(t *testing.T) {
	h, path := loaded(t, configWithSite("v0"), time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				s := h.Load()
				if s.VendorForHost([]byte("www.google-analytics.com")) == nil ||
					s.Site([]byte("x.example")) == nil ||
					s.CookieVendor([]byte("_ga_ABC")) == nil {
					t.Error("lookup failed during reload")
					return
				}
				lookups.Add(1)
			}
		}()
	}
	for i := 1; i <= 100; i++ {
		if changed, err := h.ReloadData(configWithSite(fmt.Sprintf("v%d", i)), path); err != nil || !changed {
			t.Fatalf("reload %d: changed=%v err=%v", i, changed, err)
		}
	}
	cancel()
	wg.Wait()
	if got := h.Load().Sites()[0].Name; got != "v100" {
		t.Errorf("current site = %s, want v100", got)
	}
	if lookups.Load() == 0 {
		t.Error("no lookups ran")
	}
}

func TestHolderKeepsLastGood(t *testing.T) {
	h, path := loaded(t, configWithSite("good"), -1)
	first := h.Load()
	// Unchanged bytes: nothing happens.
	if changed, err := h.reload(path); changed || err != nil {
		t.Fatalf("unchanged reload: changed=%v err=%v", changed, err)
	}
	if h.Load() != first {
		t.Fatal("unchanged reload swapped the set")
	}
	for _, bad := range []string{"sites: [", "upstream: http://x\nbogus: 1\n", "sites:\n  - name: x\n    hosts: []\n"} {
		writeFile(t, path, []byte(bad))
		err := h.Reload(path)
		var ce *config.Error
		if !errors.As(err, &ce) {
			t.Errorf("bad config %q: err = %v, want a *config.Error", bad, err)
		}
		if h.Load() != first || first.Closed() {
			t.Errorf("bad config %q replaced or closed the last good set", bad)
		}
	}
	if err := h.Reload(filepath.Join(filepath.Dir(path), "missing.yaml")); err == nil || h.Load() != first {
		t.Error("missing file: want an error and the old set")
	}
	writeFile(t, path, configWithSite("better"))
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	if h.Load().Sites()[0].Name != "better" || !first.Closed() {
		t.Error("good reload did not replace and close the old set")
	}
}

func TestHolderReloadsOnImportChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	list := filepath.Join(dir, "list.txt")
	writeFile(t, list, []byte("||one.example^\n"))
	writeFile(t, path, []byte("upstream: http://127.0.0.1:8080\nimports:\n  - {format: abp, path: list.txt, id: mine, licence: test}\n"))
	h := NewHolder(nil)
	w := &FileWatcher{Holder: h, Path: path}
	if changed, err := w.Poll(); !changed || err != nil {
		t.Fatalf("first poll: changed=%v err=%v", changed, err)
	}
	if changed, err := w.Poll(); changed || err != nil {
		t.Fatalf("idle poll: changed=%v err=%v", changed, err)
	}
	writeFile(t, list, []byte("||one.example^\n||two.example^\n"))
	// Make the stamp differ even on filesystems with coarse mtimes.
	future := time.Now().Add(time.Hour)
	os.Chtimes(list, future, future)
	if changed, err := w.Poll(); !changed || err != nil {
		t.Fatalf("poll after import change: changed=%v err=%v", changed, err)
	}
	if v := h.Load().VendorForHost([]byte("two.example")); v == nil || v.ID != "mine" {
		t.Error("imported host not loaded after change")
	}
}

func TestFileWatcherRun(t *testing.T) {
	h, path := loaded(t, configWithSite("a"), 0)
	reloaded := make(chan error, 10)
	w := &FileWatcher{Holder: h, Path: path, Interval: 5 * time.Millisecond,
		OnReload: func(changed bool, err error) { reloaded <- err }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	// Run records the stamps before its first tick; rewrite until noticed.
	deadline := time.After(5 * time.Second)
	for i := 0; ; i++ {
		writeFile(t, path, configWithSite(fmt.Sprintf("b%d", i)))
		future := time.Now().Add(time.Duration(i+1) * time.Hour)
		os.Chtimes(path, future, future)
		select {
		case err := <-reloaded:
			if err != nil {
				// The poll caught the file half written (WriteFile is not
				// atomic); the last good set stays and the next poll sees
				// the complete file.
				if h.Load().Sites()[0].Name != "a" {
					t.Fatalf("a failed reload replaced the set: %v", err)
				}
				continue
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if h.Load().Sites()[0].Name == "a" {
				t.Error("watcher did not swap the set")
			}
			return
		case <-deadline:
			t.Fatal("watcher never reloaded")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestURLWatcherETag(t *testing.T) {
	var body atomic.Value
	body.Store(configWithSite("one"))
	var gets, notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		b := body.Load().([]byte)
		etag := fmt.Sprintf(`"%x"`, len(b))
		if r.Header.Get("If-None-Match") == etag {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write(b)
	}))
	defer srv.Close()
	h := NewHolder(nil)
	w := &URLWatcher{Holder: h, URL: srv.URL + "/c.yaml", Client: srv.Client()}
	ctx := context.Background()
	if changed, err := w.Poll(ctx); !changed || err != nil {
		t.Fatalf("first poll: changed=%v err=%v", changed, err)
	}
	if changed, err := w.Poll(ctx); changed || err != nil || notModified.Load() != 1 {
		t.Fatalf("second poll: changed=%v err=%v 304s=%d", changed, err, notModified.Load())
	}
	body.Store(configWithSite("three"))
	if changed, err := w.Poll(ctx); !changed || err != nil || h.Load().Sites()[0].Name != "three" {
		t.Fatalf("third poll: changed=%v err=%v", changed, err)
	}
	body.Store([]byte("sites: ["))
	if _, err := w.Poll(ctx); err == nil || h.Load().Sites()[0].Name != "three" {
		t.Fatalf("bad body: err=%v, want error and the old set", err)
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) })
	if _, err := w.Poll(ctx); err == nil {
		t.Error("503: want an error")
	}
}

// TestHolderOnSwap: every set made current is announced before the reload
// returns, once; an unchanged reload and a failed one announce nothing.
func TestHolderOnSwap(t *testing.T) {
	h := NewHolder(nil)
	h.Grace = -1
	var got []*rules.Set
	cancel := h.OnSwap(func(s *rules.Set) { got = append(got, s) })
	if _, err := h.ReloadData(configWithSite("a"), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != h.Load() {
		t.Fatalf("after the first reload: announced %d sets, want the current one", len(got))
	}
	h.ReloadData(configWithSite("a"), "a.yaml")              //nolint:errcheck // unchanged
	h.ReloadData([]byte("sites: [{name: x}]\n"), "bad.yaml") //nolint:errcheck // invalid
	if len(got) != 1 {
		t.Errorf("an unchanged or failed reload announced a set (%d announcements)", len(got))
	}
	set, err := rules.Compile(config.Default("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	h.Swap(set)
	if len(got) != 2 || got[1] != set {
		t.Errorf("Swap: announced %d sets, want the swapped one second", len(got))
	}
	cancel()
	h.ReloadData(configWithSite("b"), "b.yaml") //nolint:errcheck
	if len(got) != 2 {
		t.Error("a cancelled subscription was still called")
	}
}

// TestHolderVerify: a set that fails Verify never becomes current.
func TestHolderVerify(t *testing.T) {
	h := NewHolder(nil)
	h.Grace = -1
	if _, err := h.ReloadData(configWithSite("good"), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	good := h.Load()
	h.Verify = func(s *rules.Set) error {
		if s.Sites()[0].Name == "bad" {
			return errors.New("cannot open what the set names")
		}
		return nil
	}
	changed, err := h.ReloadData(configWithSite("bad"), "b.yaml")
	if changed || err == nil || !strings.Contains(err.Error(), "keeping the last good rules") {
		t.Errorf("a set that failed Verify: changed=%v err=%v", changed, err)
	}
	if h.Load() != good || good.Closed() {
		t.Error("a set that failed Verify replaced or closed the last good one")
	}
}

// TestHolderValidate: the program's own problems of a config come with
// the rules' in one *config.Error, sorted by line, and keep the last good
// set.
func TestHolderValidate(t *testing.T) {
	h := NewHolder(nil)
	h.Grace = -1
	h.Validate = func(c *config.Config) []config.Problem {
		if c.Listen == "" {
			return nil
		}
		return []config.Problem{{Field: "listen", Msg: "not here"}}
	}
	if _, err := h.ReloadData(configWithSite("good"), "a.yaml"); err != nil {
		t.Fatal(err)
	}
	good := h.Load()
	changed, err := h.ReloadData([]byte("upstream: http://127.0.0.1:8080\nsites:\n  - name: x\n    hosts: [\"*\"]\n    deny: [nonsense]\nlisten: nowhere\n"), "b.yaml")
	var ce *config.Error
	if changed || !errors.As(err, &ce) || len(ce.Problems) != 2 {
		t.Fatalf("changed=%v err=%v, want two problems", changed, err)
	}
	if p := ce.Problems[1]; p.Field != "listen" || p.Line != 6 || ce.Problems[0].Line != 5 {
		t.Errorf("problems %+v, want sites[0].deny[0] on line 5, then listen on line 6", ce.Problems)
	}
	if h.Load() != good || good.Closed() {
		t.Error("a config the program refused replaced or closed the last good set")
	}
}
