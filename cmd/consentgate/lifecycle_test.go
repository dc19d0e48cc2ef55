package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/proxytest"
	"github.com/valyala/fasthttp"
)

// TestMain lets a test run the real main in a child process (the test
// binary itself), to send it signals: CONSENTGATE_TEST_MAIN holds the
// arguments, one a line.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("CONSENTGATE_TEST_MAIN"); ok {
		os.Args = append([]string{"consentgate"}, strings.Split(args, "\n")...)
		main()
		return
	}
	os.Exit(m.Run())
}

// runAsync runs the program with args until ctx ends; the returned channel
// gets its exit status.
func runAsync(ctx context.Context, stderr *proxytest.Buffer, args ...string) <-chan int {
	done := make(chan int, 1)
	go func() {
		err := run(ctx, args, strings.NewReader(""), &proxytest.Buffer{}, stderr)
		done <- exitCode(err, stderr)
	}()
	return done
}

// waitReady polls the admin address until /readyz answers 200.
func waitReady(t *testing.T, adm string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + adm + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s/readyz never answered 200", adm)
}

// blockingSite is an upstream whose every request waits for release.
func blockingSite(t *testing.T) (url string, entered <-chan struct{}, release func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in, out := make(chan struct{}, 16), make(chan struct{})
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		in <- struct{}{}
		<-out
		ctx.SetBodyString("late")
	}}
	go s.Serve(ln) //nolint:errcheck
	var once sync.Once
	release = func() { once.Do(func() { close(out) }) }
	t.Cleanup(func() { release(); s.Shutdown(); ln.Close() }) //nolint:errcheck
	return "http://" + ln.Addr().String(), in, release
}

// TestShutdownTimeoutLogsJSON: when requests outlast --shutdown-timeout,
// serve still ends, and its last line is a JSON log line like the others
// (it was plain text after the JSON log).
func TestShutdownTimeoutLogsJSON(t *testing.T) {
	site, entered, release := blockingSite(t)
	defer release()
	pub, adm := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr proxytest.Buffer
	done := runAsync(ctx, &stderr, "serve", "--upstream", site, "--listen", pub, "--admin", adm, "--shutdown-timeout", "200ms")
	waitReady(t, adm)
	go http.Get("http://" + pub + "/") //nolint:errcheck
	<-entered
	cancel()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve still running 10s after its context ended, with --shutdown-timeout 200ms")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	var line struct{ Level, Msg, Err string }
	if code != 1 || json.Unmarshal([]byte(last), &line) != nil || line.Level != "ERROR" || !strings.Contains(line.Err, "shutdown-timeout") {
		t.Errorf("exit %d, last line %q; want exit 1 and a JSON error line naming --shutdown-timeout", code, last)
	}
}

// TestServerErrorStopsServe: when one listener fails, serve shuts the
// other down and returns; it used to return with the public server still
// accepting.
func TestServerErrorStopsServe(t *testing.T) {
	site := startDemoSite(t)
	f, err := parseServe([]string{"--upstream", site, "--listen", freeAddr(t), "--admin", freeAddr(t)}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var public string
	hooks := serveHooks{listen: func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil || addr != f.admin {
			if addr == f.listen {
				public = addr
			}
			return ln, err
		}
		return brokenListener{ln}, nil
	}}
	var stderr proxytest.Buffer
	done := make(chan error, 1)
	go func() { done <- serve(context.Background(), f, &stderr, hooks) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("serve returned nil after its admin listener failed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve still running 10s after its admin listener failed")
	}
	if public == "" {
		t.Fatal("serve never listened on its public address")
	}
	if c, err := net.DialTimeout("tcp", public, time.Second); err == nil {
		c.Close()
		t.Error("the public listener still accepts after serve returned")
	}
	if !strings.Contains(stderr.String(), "accept failed") {
		t.Errorf("the log does not say why serve stopped:\n%s", stderr.String())
	}
}

type brokenListener struct{ net.Listener }

func (l brokenListener) Accept() (net.Conn, error) {
	l.Listener.Close()
	return nil, errors.New("accept failed")
}

// TestSecondInterruptStops: the first SIGINT starts a graceful shutdown
// (here a 30s lame-duck delay); a second one ends the process at once.
func TestSecondInterruptStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONSENTGATE_TEST_MAIN="+strings.Join([]string{"serve",
		"--upstream", "http://127.0.0.1:1", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--shutdown-delay", "30s"}, "\n"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the process ended before logging %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q line in 10s", want)
			}
		}
	}
	waitLine("consentgate serving")
	cmd.Process.Signal(syscall.SIGINT) //nolint:errcheck
	waitLine("shutting down")
	cmd.Process.Signal(syscall.SIGINT) //nolint:errcheck
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("exit status %d after a second SIGINT, want 130", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second SIGINT did not end the process within 5s (the lame-duck delay is 30s)")
	}
}
