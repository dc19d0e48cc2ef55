package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// proc is a child process in its own process group; stop ends the group.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// procs are every process the harness started; cleanup stops them all.
var procs []*proc

// start runs bin in a new process group, its output in logPath. The child
// also gets SIGKILL if the harness dies without cleaning up.
func start(name, logPath, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		cmd.Wait() //nolint:errcheck // the exit is reported by done
		f.Close()
		close(p.done)
	}()
	procs = append(procs, p)
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM to the process group, then SIGKILL after a grace period.
func (p *proc) stop() {
	select {
	case <-p.done:
		syscall.Kill(-p.pid(), syscall.SIGKILL) //nolint:errcheck // leftovers of the group
		return
	default:
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM) //nolint:errcheck
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-p.pid(), syscall.SIGKILL) //nolint:errcheck
		<-p.done
	}
	syscall.Kill(-p.pid(), syscall.SIGKILL) //nolint:errcheck // children that outlived the leader
}

// stopAll stops every process started, newest first.
func stopAll() {
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
	procs = nil
}

// waitListen waits until addr accepts connections, the process exits or the
// timeout passes.
func (p *proc) waitListen(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			return fmt.Errorf("%s exited before listening on %s:\n%s", p.name, addr, tailLines(string(b), 20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: nothing listens on %s after %v", p.name, addr, timeout)
		}
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// raiseNoFile raises the soft limit on open files to the hard limit, for
// this process and the children it starts, and returns the new limit.
func raiseNoFile() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}
