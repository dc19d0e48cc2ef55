package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// rssSampler records the largest VmRSS of a process, sampled every interval.
type rssSampler struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := readStatus(pid); err == nil && m.rss > s.peak.Load() {
				s.peak.Store(m.rss)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

// streamResult is the memory of the proxy while one huge page went through.
type streamResult struct {
	want, got    int64 // body bytes asked of the upstream; bytes received (with chunk framing)
	complete     bool  // the response ended with the last chunk
	seconds      float64
	baseRSS      int64 // before the request
	peakRSS, hwm int64 // sampled VmRSS peak; VmHWM after
	status       string
}

// streamPage asks addr for an opted-out HTML page of n bytes the upstream
// generates on the fly, reads it to the end and discards it, while sampling
// the proxy's RSS.
func streamPage(ctx context.Context, addr string, pid int, n int64, limit time.Duration) (streamResult, error) {
	r := streamResult{want: n}
	if m, err := readStatus(pid); err == nil {
		r.baseRSS = m.rss
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return r, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) //nolint:errcheck
	defer stop()
	conn.SetDeadline(time.Now().Add(limit)) //nolint:errcheck
	s := sampleRSS(pid, 20*time.Millisecond)
	begin := time.Now()
	fmt.Fprintf(conn, "GET /stream?bytes=%d HTTP/1.1\r\nHost: bench.example\r\nSec-GPC: 1\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n", n)
	br := bufio.NewReaderSize(conn, 64<<10)
	status, err := br.ReadString('\n')
	r.status = string(bytes.TrimSpace([]byte(status)))
	if err != nil {
		s.finish()
		return r, fmt.Errorf("stream: no status line: %v", err)
	}
	var last [16]byte
	buf := make([]byte, 64<<10)
	for {
		k, err := br.Read(buf)
		r.got += int64(k)
		if k >= len(last) {
			copy(last[:], buf[k-len(last):k])
		} else if k > 0 {
			copy(last[:], append(last[k:], buf[:k]...))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			r.peakRSS = s.finish()
			return r, fmt.Errorf("stream after %d bytes: %v", r.got, err)
		}
	}
	r.seconds = time.Since(begin).Seconds()
	r.peakRSS = s.finish()
	r.complete = bytes.HasSuffix(last[:], []byte("\r\n0\r\n\r\n"))
	if m, err := readStatus(pid); err == nil {
		r.hwm = m.hwm
	}
	return r, nil
}

// idleResult is the memory of the proxy holding idle keep-alive connections.
type idleResult struct {
	conns   int
	baseRSS int64 // before the first connection
	rss     int64 // with every connection open and idle
	seconds float64
}

// idleConns opens n connections to addr, does one request on each and keeps
// them open, then samples the proxy's RSS. It closes them before returning.
func idleConns(ctx context.Context, addr string, pid int, n int, path string) (idleResult, error) {
	r := idleResult{}
	if m, err := readStatus(pid); err == nil {
		r.baseRSS = m.rss
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 64)
	begin := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := oneRequest(addr, path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	r.conns = len(conns)
	r.seconds = time.Since(begin).Seconds()
	if firstErr != nil {
		return r, fmt.Errorf("%d of %d connections failed, first: %v", n-len(conns), n, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	// Let the server settle (goroutines park, buffers go back to pools),
	// then take the largest of a few samples.
	for i := 0; i < 10; i++ {
		time.Sleep(200 * time.Millisecond)
		if m, err := readStatus(pid); err == nil && m.rss > r.rss {
			r.rss = m.rss
		}
	}
	return r, nil
}

// oneRequest dials addr, does one keep-alive GET and returns the open
// connection.
func oneRequest(addr, path string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\n\r\n", path); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4096), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || resp.Close) {
		err = fmt.Errorf("status %d, close %v", resp.StatusCode, resp.Close)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{}) //nolint:errcheck
	return c, nil
}
