package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// trackerMarks are in the marketing page and must not survive the rewriter.
var trackerMarks = []string{"googletagmanager.com/gtm.js", "connect.facebook.net", "static.hotjar.com", "snap.licdn.com"}

// check does one request of w against t and verifies the answer: status 200,
// the origin's bytes for everything but consentgate's opted-out HTML, which
// must come back without trackers. It returns the body size received.
func check(t target, w workload, hdrs []string) (int, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + t.addr + w.path)
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		return 0, err
	}
	if resp.StatusCode() != 200 {
		return 0, fmt.Errorf("status %d: %.200s", resp.StatusCode(), resp.Body())
	}
	body := resp.Body()
	size := len(body)
	gz := bytes.EqualFold(resp.Header.ContentEncoding(), []byte("gzip"))
	if strings.HasPrefix(w.path, "/gz/") && !gz {
		return 0, fmt.Errorf("no Content-Encoding: gzip")
	}
	if gz {
		var err error
		if body, err = resp.BodyGunzip(); err != nil {
			return 0, fmt.Errorf("gunzip: %v", err)
		}
	}
	html := bytes.Contains(resp.Header.ContentType(), []byte("html"))
	rewritten := (t.name == tCG || t.name == tCGReg || t.name == tCGR || t.name == tCGCold) && w.optout && html
	marketing := strings.HasSuffix(w.path, "/page.html")
	if rewritten {
		body = withoutInlineGuard(body)
	}
	for _, m := range trackerMarks {
		if marketing && bytes.Contains(body, []byte(m)) == rewritten {
			return 0, fmt.Errorf("tracker %q: present %v, rewritten %v", m, !rewritten, rewritten)
		}
	}
	if html && !bytes.Contains(body, []byte("</html>")) {
		return 0, fmt.Errorf("the page is cut short (%d bytes)", len(body))
	}
	return size, nil
}

// withoutInlineGuard returns body without an inline runtime guard (guard:
// inline), whose host table names the trackers it refuses.
func withoutInlineGuard(body []byte) []byte {
	i := bytes.Index(body, []byte("__consentgate"))
	if i < 0 {
		return body
	}
	start := bytes.LastIndex(body[:i], []byte("<script>"))
	end := bytes.Index(body[i:], []byte("</script>"))
	if start < 0 || end < 0 {
		return body
	}
	return append(append([]byte(nil), body[:start]...), body[i+end+len("</script>"):]...)
}

// profileDuring starts fetching a CPU profile of consentgate for the
// measured run; the returned func waits for it.
func profileDuring(ctx context.Context, admin string, d time.Duration, file string) func() error {
	secs := max(1, int(d/time.Second))
	done := make(chan error, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(cctx, "GET", "http://"+admin+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			done <- fmt.Errorf("profile: status %s", resp.Status)
			return
		}
		f, err := os.Create(file)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return func() error { return <-done }
}

// topProfiles writes `go tool pprof -top` of every profile in dir next to it.
func topProfiles(dir, bin string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pprof"))
	for _, f := range files {
		out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=30", bin, f).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: pprof %s: %v\n", f, err)
			continue
		}
		txt := strings.TrimSuffix(f, ".pprof") + ".txt"
		os.WriteFile(txt, out, 0o644) //nolint:errcheck
	}
	if len(files) > 0 {
		// Keep the binary beside the profiles: the temporary one goes.
		if b, err := os.ReadFile(bin); err == nil {
			os.WriteFile(filepath.Join(dir, "consentgate.bin"), b, 0o755) //nolint:errcheck
		}
		logf("profiles and pprof -top in %s (binary: consentgate.bin)", dir)
	}
}
