// Package registrytest runs a real redis-server on loopback for the tests
// of the registry and of the proxy with a registry.
package registrytest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server child process on 127.0.0.1, without
// persistence (no snapshots, no append-only file): a stop loses its data.
type Server struct {
	Addr string // 127.0.0.1:PORT, the same across Restart
	bin  string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	log  bytes.Buffer
}

// NeedRedis returns the path of redis-server. When it is missing the test
// skips on a developer's machine and fails in CI (CI=true), where .ci/run
// installs it.
func NeedRedis(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err == nil {
		return p
	}
	msg := "redis-server is not installed; apt-get install -y redis-server (.ci/run does)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Start runs redis-server on a free loopback port and stops it when the
// test ends. extra are more arguments, e.g. "--requirepass", "secret".
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := &Server{bin: NeedRedis(t), dir: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	ln.Close()
	if err := s.start(extra); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// URL is redis://ADDR.
func (s *Server) URL() string { return "redis://" + s.Addr }

func (s *Server) start(extra []string) error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--protected-mode", "no"}, extra...)
	cmd := exec.Command(s.bin, args...)
	// Killed with the test binary, even when a timeout kills that.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.log.Reset()
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("redis-server did not listen on %s within 10s: %v\n%s", s.Addr, err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the server (SIGKILL: an outage, not a shutdown) and waits for
// it. Its data is lost.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill() //nolint:errcheck
	cmd.Wait()         //nolint:errcheck
}

// Restart starts the server again on the same port.
func (s *Server) Restart(t testing.TB, extra ...string) {
	t.Helper()
	// The port was just freed; another process could take it, which only
	// this loop's error would show.
	var err error
	for i := 0; i < 50; i++ {
		if err = s.start(extra); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal(err)
}

// Do sends one command in the inline protocol and returns the raw reply:
// a client that shares no code with the one under test.
func (s *Server) Do(t testing.TB, args ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// Keys returns how many keys the server holds.
func (s *Server) Keys(t testing.TB) int {
	t.Helper()
	r := s.Do(t, "DBSIZE")
	n, err := strconv.Atoi(string(bytes.TrimSpace([]byte(r[1:]))))
	if err != nil {
		t.Fatalf("DBSIZE: %q", r)
	}
	return n
}
