package reload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

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

// ErrNotModified is returned by Fetch when the server answers 304 Not
// Modified; URLWatcher.Poll reports that as (false, nil).
var ErrNotModified = errors.New("config not modified")

// Poll fetches the config once and reloads when it changed.
func (w *URLWatcher) Poll(ctx context.Context) (bool, error) {
	data, etag, err := Fetch(ctx, w.Client, w.URL, w.etag)
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

// Fetch GETs a config from url. With etag set it sends If-None-Match
// and returns ErrNotModified on 304. It returns the body and the response's
// ETag.
func Fetch(ctx context.Context, c *http.Client, url, etag string) ([]byte, string, error) {
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
