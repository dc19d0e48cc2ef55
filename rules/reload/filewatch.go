package reload

import (
	"context"
	"os"
	"time"
)

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
	if s := w.Holder.Load(); s != nil && s.Config() != nil {
		cfg := s.Config()
		for _, ic := range cfg.Imports {
			paths = append(paths, cfg.Path(ic.Path))
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
