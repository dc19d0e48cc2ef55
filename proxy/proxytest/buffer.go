package proxytest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that one goroutine may write while another
// reads it: the log of a server under test, a child process's output
// copied by os/exec. It is safe for concurrent Write and String. Max, when positive,
// bounds what it keeps: once more than Max bytes are held, later writes
// are dropped (and reported written), so the start of a long output stays
// for a failure message. The zero Buffer is empty and unbounded.
type Buffer struct {
	Max int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p, or drops it once more than Max bytes are held.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Max > 0 && l.b.Len() > l.Max {
		return len(p), nil
	}
	return l.b.Write(p)
}

// String returns what was kept.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
