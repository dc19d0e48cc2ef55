package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDemoServesItsOwnConfig: "consentgate demo" serves the demo site with
// proxy/demo's config: the YouTube tour becomes a placeholder for an
// opted-out visitor, and a GPC visitor's navigation gets the notice.
func TestDemoServesItsOwnConfig(t *testing.T) {
	pub, adm := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- run(ctx, []string{"demo", "--listen", pub, "--admin", adm, "--log-level", "error"}, strings.NewReader(""), &out, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo returned %v", err)
		}
	})
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; {
		if code, b := httpGetQuiet("http://"+pub+"/", "Sec-GPC: 1", "Sec-Fetch-Dest: document"); code == 200 {
			body = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the demo did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`<span class="consentgate-placeholder" data-consentgate-embed="youtube"`,
		`Loading this YouTube video shares data with Google.`,
		`<aside class="consentgate-notice"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the demo's home page for a GPC visitor lacks %q", want)
		}
	}
}

// httpGetQuiet is httpGet that reports a failed request as status 0.
func httpGetQuiet(url string, headers ...string) (int, string) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, ""
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
