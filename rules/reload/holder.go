package reload

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/rules"
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
	cur atomic.Pointer[rules.Set]
	// Grace is how long a replaced set stays open (default DefaultGrace; a
	// negative value closes it at once). Set it before the first reload.
	Grace time.Duration
	// Hooks are the program's steps of every reload. Set them before the
	// first reload.
	Hooks

	mu      sync.Mutex // serialises reloads; guards digest, retired and subs
	digest  [32]byte   // of the bytes the current set was built from
	retired []retired
	subs    map[int]func(*rules.Set)
	nextSub int
}

type retired struct {
	t *time.Timer
	s *rules.Set
}

// Hooks are what a program adds to the steps of a reload (read, parse,
// validate, compile); each is optional.
type Hooks struct {
	// Override adjusts every parsed config before it is compiled: settings
	// given on the command line win over the file.
	Override func(*config.Config)
	// Validate reports the problems of the settings the program reads from
	// the config itself (serve: the listen addresses), each with its field
	// path (its line is looked up); they come with the rules' problems in
	// one *config.Error.
	Validate func(*config.Config) []config.Problem
	// Verify is called with every set a reload compiled, before it becomes
	// current; an error keeps the last good set (serve opens the GeoIP
	// databases a set names here).
	Verify func(*rules.Set) error
}

// NewHolder returns a holder of s, which may be nil until the first reload.
func NewHolder(s *rules.Set) *Holder {
	h := &Holder{Grace: DefaultGrace}
	if s != nil {
		h.cur.Store(s)
		if cfg := s.Config(); cfg != nil && cfg.Bytes() != nil {
			h.digest = sourceDigest(cfg.Bytes(), cfg, rules.ReadImports(cfg))
		}
	}
	return h
}

// Load returns the current set; nil before the first successful reload of a
// holder made without one. Callers use one Load per request.
func (h *Holder) Load() *rules.Set { return h.cur.Load() }

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
	s, d, err := build(data, name, h.Hooks, unchanged)
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

// Check does what a reload of the config file at path does, without a
// holder: read, parse, apply the override, validate, compile and verify.
// Every problem of parsing, validating and compiling comes in one
// *config.Error; Verify runs on a set that compiled. It is consentgate
// check.
func Check(path string, hooks Hooks) (*rules.Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	s, _, err := build(data, path, hooks, nil)
	return s, err
}

// build is the reload pipeline for config bytes. unchanged, when set, is
// asked with the digest of the config and its imports before compiling;
// true ends the build there with a nil set and no error.
func build(data []byte, name string, hooks Hooks, unchanged func([32]byte) bool) (*rules.Set, [32]byte, error) {
	var d [32]byte
	cfg, parseErr := config.ParsePartial(data, name)
	if cfg == nil {
		return nil, d, parseErr
	}
	if hooks.Override != nil {
		hooks.Override(cfg)
	}
	imported := rules.ReadImports(cfg)
	d = sourceDigest(data, cfg, imported)
	if parseErr == nil && unchanged != nil && unchanged(d) {
		return nil, d, nil
	}
	// Compile what parsed even when keys were unknown or values of the
	// wrong type, so one run reports every problem of the file.
	s, err := rules.CompileFiles(cfg, imported)
	if err = hooks.validate(cfg, err); err != nil && s != nil {
		s.Close()
		s = nil
	}
	if parseErr != nil {
		if s != nil {
			s.Close()
		}
		return nil, d, parseErr.Merge(err)
	}
	if err != nil {
		return nil, d, err
	}
	if hooks.Verify != nil {
		if err := hooks.Verify(s); err != nil {
			s.Close()
			return nil, d, err
		}
	}
	return s, d, nil
}

// validate adds the problems of h.Validate to err, the error of compiling
// cfg, sorted by line with those of compiling.
func (h Hooks) validate(cfg *config.Config, err error) error {
	if h.Validate == nil {
		return err
	}
	probs := h.Validate(cfg)
	for i := range probs {
		probs[i].Line = cfg.Line(probs[i].Field)
	}
	ce := &config.Error{File: cfg.File()}
	switch {
	case len(probs) == 0:
		return err
	case err != nil && !errors.As(err, &ce):
		return err // the rules cannot be read at all
	}
	ce.Problems = append(ce.Problems, probs...)
	sort.SliceStable(ce.Problems, func(i, j int) bool { return ce.Problems[i].Line < ce.Problems[j].Line })
	return ce
}

// Swap makes s current without reading a file (for example a set built by
// code); the replaced set is closed after the grace period.
func (h *Holder) Swap(s *rules.Set) {
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
func (h *Holder) OnSwap(f func(*rules.Set)) (cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = make(map[int]func(*rules.Set))
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

func (h *Holder) swap(s *rules.Set) {
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
