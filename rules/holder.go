package rules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/rules/config"
)

// DefaultGrace is how long a Holder keeps a replaced Set open, so requests
// that loaded it finish before it is closed.
const DefaultGrace = 30 * time.Second

// Holder holds the current rule set behind one atomic pointer: Load is a
// single atomic read, and a reload builds a complete new Set before one
// Store. A reload that fails keeps the last good set. It is safe for
// concurrent use; reloads are serialised.
type Holder struct {
	cur atomic.Pointer[Set]
	// Grace is how long a replaced set stays open (default DefaultGrace; a
	// negative value closes it at once). Set it before the first reload.
	Grace time.Duration
	// Override, when set, adjusts every parsed config before it is
	// compiled: settings given on the command line win over the file.
	Override func(*config.Config)
	// Verify, when set, is called with every set a reload compiled, before
	// it becomes current; an error keeps the last good set (serve opens
	// the GeoIP databases a set names here). Set it before the first
	// reload.
	Verify func(*Set) error

	mu      sync.Mutex // serialises reloads; guards digest, retired and subs
	digest  [32]byte   // of the bytes the current set was built from
	retired []retired
	subs    map[int]func(*Set)
	nextSub int
}

type retired struct {
	t *time.Timer
	s *Set
}

// NewHolder returns a holder of s, which may be nil until the first reload.
func NewHolder(s *Set) *Holder {
	h := &Holder{Grace: DefaultGrace}
	if s != nil {
		h.cur.Store(s)
		if s.cfg != nil && s.cfg.Bytes() != nil {
			h.digest = sourceDigest(s.cfg.Bytes(), s.cfg, ReadImports(s.cfg))
		}
	}
	return h
}

// Load returns the current set; nil before the first successful reload of a
// holder made without one. Callers use one Load per request.
func (h *Holder) Load() *Set { return h.cur.Load() }

// Reload reads, parses, validates and compiles the config file at path and
// makes it current. When the bytes of the file and of its imports are those
// of the current set, it does nothing. On any error the current set stays,
// and the error (a *config.Error for config problems) says why; the caller
// logs and counts it.
func (h *Holder) Reload(path string) error {
	_, err := h.reload(path)
	return err
}

// reload is Reload reporting whether the set changed.
func (h *Holder) reload(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("cannot read config, keeping the last good rules: %w", err)
	}
	return h.ReloadData(data, path)
}

// ReloadData is Reload for config bytes already read; name is used in
// messages and to resolve relative import paths. It reports whether the
// current set changed.
func (h *Holder) ReloadData(data []byte, name string) (changed bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	unchanged := func(d [32]byte) bool { return d == h.digest && h.cur.Load() != nil }
	s, d, err := build(data, name, h.Override, h.Verify, unchanged)
	if err != nil {
		return false, keepErr(err)
	}
	if s == nil {
		return false, nil
	}
	h.swap(s)
	h.digest = d
	return true, nil
}

// CheckConfig does what a reload of the config file at path does, without
// a holder: read, parse, apply override, validate, compile and verify (each
// step optional when nil). Every problem of parsing and compiling comes in
// one *config.Error; verify runs on a set that compiled. It is consentgate
// check.
func CheckConfig(path string, override func(*config.Config), verify func(*Set) error) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	s, _, err := build(data, path, override, verify, nil)
	return s, err
}

// build is the reload pipeline for config bytes. unchanged, when set, is
// asked with the digest of the config and its imports before compiling;
// true ends the build there with a nil set and no error.
func build(data []byte, name string, override func(*config.Config), verify func(*Set) error, unchanged func([32]byte) bool) (*Set, [32]byte, error) {
	var d [32]byte
	cfg, parseErr := config.ParsePartial(data, name)
	if cfg == nil {
		return nil, d, parseErr
	}
	if override != nil {
		override(cfg)
	}
	imported := ReadImports(cfg)
	d = sourceDigest(data, cfg, imported)
	if parseErr == nil && unchanged != nil && unchanged(d) {
		return nil, d, nil
	}
	cat, err := Catalogue()
	if err != nil {
		return nil, d, err
	}
	// Compile what parsed even when keys were unknown or values of the
	// wrong type, so one run reports every problem of the file.
	s, err := compile(cfg, cat, imported)
	if parseErr != nil {
		if s != nil {
			s.Close()
		}
		return nil, d, parseErr.Merge(err)
	}
	if err != nil {
		return nil, d, err
	}
	if verify != nil {
		if err := verify(s); err != nil {
			s.Close()
			return nil, d, err
		}
	}
	return s, d, nil
}

// Swap makes s current without reading a file (for example a set built by
// code); the replaced set is closed after the grace period.
func (h *Holder) Swap(s *Set) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.swap(s)
	h.digest = [32]byte{}
}

// OnSwap registers f to be called with every set made current (by a
// reload or Swap), right after it is: per-set state (metric children,
// upstream clients) is built then, not on the next request. Calls come one
// at a time on the goroutine that swapped, with the holder's reload lock
// held: f must not reload. The returned function unregisters f.
func (h *Holder) OnSwap(f func(*Set)) (cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = make(map[int]func(*Set))
	}
	id := h.nextSub
	h.nextSub++
	h.subs[id] = f
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs, id)
	}
}

func (h *Holder) swap(s *Set) {
	old := h.cur.Swap(s)
	if old == s {
		return
	}
	for _, f := range h.subs {
		f(s)
	}
	if old == nil {
		return
	}
	if h.Grace < 0 {
		old.Close()
		return
	}
	grace := h.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	kept := h.retired[:0]
	for _, r := range h.retired {
		if !r.s.Closed() {
			kept = append(kept, r)
		}
	}
	h.retired = append(kept, retired{time.AfterFunc(grace, old.Close), old})
}

// Close stops the pending grace timers and closes the replaced sets now;
// the current set stays open.
func (h *Holder) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.retired {
		r.t.Stop()
		r.s.Close()
	}
	h.retired = nil
}

// keepError wraps a reload error so its message says what happens next.
type keepError struct{ err error }

func (e *keepError) Error() string {
	return e.err.Error() + "\n(keeping the last good rules)"
}
func (e *keepError) Unwrap() error { return e.err }

func keepErr(err error) error { return &keepError{err} }

// sourceDigest hashes a config and its imports.
func sourceDigest(data []byte, cfg *config.Config, imported map[string][]byte) [32]byte {
	hs := sha256.New()
	hs.Write(data)
	for _, ic := range cfg.Imports {
		p := cfg.Path(ic.Path)
		fmt.Fprintf(hs, "\x00%s\x00%d\x00", p, len(imported[p]))
		hs.Write(imported[p])
	}
	var d [32]byte
	hs.Sum(d[:0])
	return d
}

// FileWatcher reloads a Holder when its config file or an imported file
// changes. It polls (identity, modification time and size of every file,
// then the content hash in Holder.Reload), so it works on bind-mounted and
// Kubernetes ConfigMap volumes where change notifications are unreliable.
type FileWatcher struct {
	Holder *Holder
	Path   string
	// Interval between polls (default 5s).
	Interval time.Duration
	// OnReload, if set, is called after every reload attempt that was
	// started by a change: changed says whether a new set is current, err
	// why not. It runs on the watcher's goroutine.
	OnReload func(changed bool, err error)

	stamps map[string]fileStamp
}

// fileStamp is what a poll compares. The file's identity (device and
// inode) counts too: a Kubernetes ConfigMap update swaps in a new file of
// the same size, whose modification time can fall in the same clock tick
// as the old one's (the file-system clock is coarse: the swap was missed
// in 75 of 200 runs of TestFileWatcherConfigMap).
type fileStamp struct {
	mod  time.Time
	size int64
	fi   os.FileInfo
}

func (a fileStamp) same(b fileStamp) bool {
	return a.mod.Equal(b.mod) && a.size == b.size && a.fi != nil && b.fi != nil && os.SameFile(a.fi, b.fi)
}

// Run polls until ctx is done, then returns nil.
func (w *FileWatcher) Run(ctx context.Context) error {
	iv := w.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	if w.stamps == nil {
		w.changed() // record the current stamps (Start may have done it)
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Poll()
		}
	}
}

// Start records the files' current stamps, so that a change made after
// Start returns is seen by the first poll of Run. Call it before Run when
// changes may come before the goroutine running Run is scheduled.
func (w *FileWatcher) Start() { w.changed() }

// Poll checks the files once and reloads if any changed. It reports what a
// reload did (false, nil when nothing changed).
func (w *FileWatcher) Poll() (bool, error) {
	if !w.changed() {
		return false, nil
	}
	changed, err := w.Holder.reload(w.Path)
	if w.OnReload != nil {
		w.OnReload(changed, err)
	}
	return changed, err
}

// changed stats the config and the current set's imports and reports whether
// any stamp differs from the last poll.
func (w *FileWatcher) changed() bool {
	paths := []string{w.Path}
	if s := w.Holder.Load(); s != nil && s.cfg != nil {
		for _, ic := range s.cfg.Imports {
			paths = append(paths, s.cfg.Path(ic.Path))
		}
	}
	now := make(map[string]fileStamp, len(paths))
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			now[p] = fileStamp{fi.ModTime(), fi.Size(), fi}
		}
	}
	diff := w.stamps == nil || len(now) != len(w.stamps)
	for p, st := range now {
		if !st.same(w.stamps[p]) {
			diff = true
		}
	}
	w.stamps = now
	return diff
}

// URLWatcher reloads a Holder from a config served over HTTP, polling with
// If-None-Match: a 304 Not Modified answer, or a body whose hash is unchanged,
// does nothing. Relative import paths in a fetched config are resolved
// against the working directory.
type URLWatcher struct {
	Holder *Holder
	URL    string
	// Client defaults to a client with a 30s timeout.
	Client *http.Client
	// Interval between polls (default 30s).
	Interval time.Duration
	// OnReload is called after every poll that fetched a body or failed.
	OnReload func(changed bool, err error)

	etag string
}

// maxConfigSize bounds a fetched config.
const maxConfigSize = 8 << 20

// Run polls at once and then every Interval until ctx is done, then returns
// nil.
func (w *URLWatcher) Run(ctx context.Context) error {
	iv := w.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		changed, err := w.Poll(ctx)
		if w.OnReload != nil && (changed || err != nil) {
			w.OnReload(changed, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ErrNotModified is returned by FetchConfig when the server answers 304 Not
// Modified; URLWatcher.Poll reports that as (false, nil).
var ErrNotModified = errors.New("config not modified")

// Poll fetches the config once and reloads when it changed.
func (w *URLWatcher) Poll(ctx context.Context) (bool, error) {
	data, etag, err := FetchConfig(ctx, w.Client, w.URL, w.etag)
	if errors.Is(err, ErrNotModified) {
		return false, nil
	}
	if err != nil {
		return false, keepErr(err)
	}
	changed, err := w.Holder.ReloadData(data, w.URL)
	if err == nil {
		w.etag = etag
	}
	return changed, err
}

// FetchConfig GETs a config from url. With etag set it sends If-None-Match
// and returns ErrNotModified on 304. It returns the body and the response's
// ETag.
func FetchConfig(ctx context.Context, c *http.Client, url, etag string) ([]byte, string, error) {
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("cannot fetch config: %w", err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("cannot fetch config: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, etag, ErrNotModified
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("cannot fetch config from %s: status %s", url, resp.Status)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(resp.Body, maxConfigSize+1)); err != nil {
		return nil, "", fmt.Errorf("cannot fetch config from %s: %w", url, err)
	}
	if buf.Len() > maxConfigSize {
		return nil, "", fmt.Errorf("config at %s is larger than %d MiB", url, maxConfigSize>>20)
	}
	return buf.Bytes(), resp.Header.Get("ETag"), nil
}
