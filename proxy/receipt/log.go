package receipt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Options.
const (
	DefaultMaxFileSize   = 64 << 20
	DefaultFlushInterval = time.Second
	DefaultQueueSize     = 8192
	DefaultTallyInterval = time.Minute
)

// File names: receipts-<seq of the first record, 12 digits>.jsonl, so the
// names sort in chain order and a shell glob lists them in that order.
const (
	filePrefix = "receipts-"
	fileSuffix = ".jsonl"
	lockName   = ".lock"
)

// Options configure a Log. Dir is required.
type Options struct {
	// Dir holds the receipt files; it is created if missing. One process
	// writes to it at a time (a lock file enforces that).
	Dir string
	// MaxFileSize starts a new file once the current one would pass it
	// (default 64 MiB).
	MaxFileSize int64
	// FlushInterval is how often buffered records are written and synced
	// to disk (default 1s): a crash loses at most the records of the
	// last interval.
	FlushInterval time.Duration
	// QueueSize bounds the records waiting for the writer (default 8192);
	// a record that finds it full is dropped and counted.
	QueueSize int
	// Version is written in start records (the consentgate version).
	Version string
	// Tally, when set, is called every TallyInterval (default 1m) and at
	// Close with the running request totals per site; the Log writes one
	// tally record per site with what changed since the last call.
	Tally         func(dst []Tally) []Tally
	TallyInterval time.Duration
	// Registerer receives the consentgate_receipts_* metrics; nil
	// registers nothing.
	Registerer prometheus.Registerer
	Logger     *slog.Logger

	hold chan struct{} // tests: the writer waits for it before each record
}

// Log writes receipts: a hash-chained JSON-lines file per MaxFileSize,
// written by one goroutine from a bounded queue. Add never blocks. It is
// safe for concurrent use.
type Log struct {
	opts Options
	log  *slog.Logger
	q    chan *Entry
	kick chan struct{} // wakes the writer when the queue is half full
	stop chan struct{}
	done chan struct{}

	mu     sync.RWMutex // Add holds it shared; Close exclusively
	closed bool

	dropped atomic.Uint64 // since the last record written

	// Owned by the writer goroutine.
	lock     *os.File
	f        *os.File
	name     string
	size     int64 // bytes of f on disk or in buf
	synced   int64 // bytes of f known to be on disk
	buf      []byte
	line     []byte
	seq      uint64 // of the next record
	prev     []byte // hex chain hash of the last record ("" for none); kept, not reallocated
	tallies  map[string]Tally
	tallyBuf []Tally
	writeErr time.Time // last write error logged

	m metrics
}

type metrics struct {
	written, flushes prometheus.Counter
	droppedFull      prometheus.Counter
	droppedClosed    prometheus.Counter
	droppedWrite     prometheus.Counter
	errors           prometheus.Counter
	queue            prometheus.GaugeFunc
	lastFlush        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, l *Log) metrics {
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "consentgate", Subsystem: "receipts", Name: "dropped_total",
		Help: "Receipts not written: reason=queue_full (the writer fell behind; the request was not held up), closed (after shutdown began), write_error (the disk refused them).",
	}, []string{"reason"})
	m := metrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "consentgate", Subsystem: "receipts", Name: "written_total",
			Help: "Receipt records written to the current file (before the flush that syncs them).",
		}),
		flushes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "consentgate", Subsystem: "receipts", Name: "flushes_total",
			Help: "Flushes of buffered receipts to disk (write and fsync).",
		}),
		droppedFull:   dropped.WithLabelValues("queue_full"),
		droppedClosed: dropped.WithLabelValues("closed"),
		droppedWrite:  dropped.WithLabelValues("write_error"),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "consentgate", Subsystem: "receipts", Name: "write_errors_total",
			Help: "Failed writes, syncs or rotations of receipt files (each logged, at most once a minute).",
		}),
		queue: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "consentgate", Subsystem: "receipts", Name: "queue_length",
			Help: "Receipts waiting for the writer.",
		}, func() float64 { return float64(len(l.q)) }),
		lastFlush: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "consentgate", Subsystem: "receipts", Name: "last_flush_timestamp_seconds",
			Help: "Unix time receipts were last written and synced to disk.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.written, m.flushes, dropped, m.errors, m.queue, m.lastFlush)
	}
	return m
}

// Open locks dir, resumes the chain from the newest file in it (a torn last
// line, left by a crash mid-write, is cut off first) and starts the writer,
// which writes a start record. Close stops it.
func Open(opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("receipts: no directory")
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.TallyInterval <= 0 {
		opts.TallyInterval = DefaultTallyInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{
		opts: opts, log: opts.Logger,
		q:       make(chan *Entry, opts.QueueSize),
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		tallies: make(map[string]Tally),
	}
	l.m = newMetrics(opts.Registerer, l)
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create the receipts directory (--receipts): %w", err)
	}
	lock, err := lockDir(filepath.Join(opts.Dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("cannot lock %s: %w (is another consentgate writing receipts there? give each instance its own --receipts directory)", opts.Dir, err)
	}
	l.lock = lock
	start, err := l.resume()
	if err != nil {
		unlockDir(lock)
		return nil, err
	}
	l.write(start)
	go l.run()
	return l, nil
}

// Add queues e to be written and reports whether it was. It never blocks: a
// full queue, or a Log that is closing, drops e and counts it (the next
// record written says how many were lost). Add takes ownership of e.
func (l *Log) Add(e *Entry) bool {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		l.m.droppedClosed.Inc()
		Release(e)
		return false
	}
	select {
	case l.q <- e:
		l.mu.RUnlock()
		if len(l.q) >= cap(l.q)/2 {
			select {
			case l.kick <- struct{}{}:
			default:
			}
		}
		return true
	default:
		l.mu.RUnlock()
		l.dropped.Add(1)
		l.m.droppedFull.Inc()
		Release(e)
		return false
	}
}

// Close writes what is queued, a last tally and a stop record, syncs and
// closes the file and unlocks the directory. Records added after Close
// began are dropped and counted. It is idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	return nil
}

// Dir is the directory the Log writes to.
func (l *Log) Dir() string { return l.opts.Dir }

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	flush := time.NewTicker(l.opts.FlushInterval)
	defer flush.Stop()
	var tally <-chan time.Time
	if l.opts.Tally != nil {
		t := time.NewTicker(l.opts.TallyInterval)
		defer t.Stop()
		tally = t.C
	}
	// Idle, the writer sleeps until a record comes. Busy, it takes what
	// is queued every drainEvery (at once when the queue is half full),
	// so under load a request hands its record over without waking a
	// goroutine; after an interval that brought nothing it sleeps again.
	batch := time.NewTimer(time.Hour)
	batch.Stop()
	busy := false
	for {
		var idle <-chan *Entry
		if !busy {
			idle = l.q
		}
		select {
		case e := <-idle:
			l.take(e)
			l.drain()
			busy = true
			batch.Reset(drainEvery)
		case <-batch.C:
			busy = l.drain() > 0
			if busy {
				batch.Reset(drainEvery)
			}
		case <-l.kick:
			l.drain()
		case <-flush.C:
			l.drain()
			l.flush(true)
		case <-tally:
			l.tally()
		case <-l.stop:
			batch.Stop()
			l.drain()
			if l.opts.Tally != nil {
				l.tally()
			}
			stop := Acquire()
			stop.Kind, stop.Time = KindStop, time.Now()
			l.write(stop)
			l.flush(true)
			l.closeFile()
			unlockDir(l.lock)
			return
		}
	}
}

// drainEvery is how often the writer takes the queued records.
const drainEvery = 10 * time.Millisecond

// drain writes every queued record and returns how many.
func (l *Log) drain() int {
	for n := 0; ; n++ {
		select {
		case e := <-l.q:
			l.take(e)
		default:
			return n
		}
	}
}

// take writes one record taken from the queue.
func (l *Log) take(e *Entry) {
	if l.opts.hold != nil {
		<-l.opts.hold
	}
	l.write(e)
}

// write appends the record of e to the buffer, rotating first when the
// file would pass MaxFileSize, and releases e.
func (l *Log) write(e *Entry) {
	lost := l.dropped.Swap(0)
	e.lost = lost
	l.line = e.appendJSON(l.line[:0], l.seq, l.prev)
	Release(e)
	if l.f == nil || (l.size > 0 && l.size+int64(len(l.line))+1 > l.opts.MaxFileSize) {
		if err := l.rotate(); err != nil {
			l.failed("cannot start a new receipts file", err)
			l.m.droppedWrite.Inc()
			l.dropped.Add(lost + 1) // said by the next record written
			return
		}
	}
	sum := sha256.Sum256(l.line)
	l.prev = hex.AppendEncode(l.prev[:0], sum[:])
	l.seq++
	l.buf = append(append(l.buf, l.line...), '\n')
	l.size += int64(len(l.line)) + 1
	l.m.written.Inc()
	if len(l.buf) >= 256<<10 {
		l.flush(false)
	}
	if cap(l.line) > 64<<10 {
		l.line = nil
	}
}

// flush writes the buffer to the file, and with sync also fsyncs it. A
// failed write is undone (the file cut back to its last whole line) and
// retried at the next flush; past 16 MiB of backlog the buffer is dropped
// and counted, which verify then reports as a gap.
func (l *Log) flush(sync bool) {
	if l.f == nil {
		return
	}
	if len(l.buf) > 0 {
		onDisk := l.size - int64(len(l.buf))
		if _, err := l.f.Write(l.buf); err != nil {
			l.failed("cannot write receipts", err)
			if terr := l.f.Truncate(onDisk); terr == nil {
				l.f.Seek(onDisk, io.SeekStart) //nolint:errcheck // O_APPEND writes at the end anyway
			}
			if len(l.buf) > 16<<20 {
				l.m.droppedWrite.Add(float64(bytes.Count(l.buf, []byte{'\n'})))
				l.size = onDisk
				l.buf = l.buf[:0]
			}
			return
		}
		l.buf = l.buf[:0]
		if cap(l.buf) > 1<<20 {
			l.buf = nil
		}
	}
	if sync && l.synced != l.size {
		if err := l.f.Sync(); err != nil {
			l.failed("cannot sync receipts", err)
			return
		}
		l.synced = l.size
		l.m.flushes.Inc()
		l.m.lastFlush.SetToCurrentTime()
	}
}

// rotate closes the current file and starts the next, named after the
// sequence number of its first record.
func (l *Log) rotate() error {
	if l.f != nil {
		l.flush(true)
		if len(l.buf) > 0 {
			return errors.New("the current file has unwritten records")
		}
		l.closeFile()
	}
	name := filepath.Join(l.opts.Dir, fileName(l.seq))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.name, l.size, l.synced = f, name, st.Size(), st.Size()
	syncDir(l.opts.Dir)
	return nil
}

// closeFile syncs and closes the current file and logs its head: the last
// sequence number and hash, which anchor the chain outside the files.
func (l *Log) closeFile() {
	if l.f == nil {
		return
	}
	if err := l.f.Sync(); err != nil {
		l.failed("cannot sync receipts", err)
	}
	if err := l.f.Close(); err != nil {
		l.failed("cannot close receipts file", err)
	}
	l.log.Info("receipts file closed", "file", l.name, "last_seq", l.seq-1, "head", string(l.prev))
	l.f = nil
}

// failed counts an I/O error and logs it at most once a minute.
func (l *Log) failed(msg string, err error) {
	l.m.errors.Inc()
	if now := time.Now(); now.Sub(l.writeErr) >= time.Minute {
		l.writeErr = now
		l.log.Error(msg, "dir", l.opts.Dir, "err", err)
	}
}

// tally writes one tally record per site whose counts changed.
func (l *Log) tally() {
	l.tallyBuf = l.opts.Tally(l.tallyBuf[:0])
	now := time.Now()
	for _, t := range l.tallyBuf {
		last := l.tallies[t.Site]
		d := Tally{Site: t.Site, OptedOut: t.OptedOut - last.OptedOut,
			ConsentRequired: t.ConsentRequired - last.ConsentRequired, NotOptedOut: t.NotOptedOut - last.NotOptedOut}
		if t.OptedOut < last.OptedOut || t.ConsentRequired < last.ConsentRequired || t.NotOptedOut < last.NotOptedOut {
			d = t // a counter went back: counted from zero again
		}
		l.tallies[t.Site] = t
		if d.OptedOut+d.ConsentRequired+d.NotOptedOut == 0 {
			continue
		}
		e := Acquire()
		e.Kind, e.Time, e.Site, e.Requests = KindTally, now, t.Site, d
		l.write(e)
	}
}

func fileName(seq uint64) string {
	return fmt.Sprintf("%s%012d%s", filePrefix, seq, fileSuffix)
}

// Files lists the receipt files in dir in chain order.
func Files(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, filePrefix) && strings.HasSuffix(n, fileSuffix) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// tailLen is how much of the newest file is read to resume the chain: many
// records, since one is far below 16 KiB.
const tailLen = 1 << 20

// resume finds where the chain ends: the newest file's last whole line, its
// sequence number and hash. It cuts off a torn last line (a crash in the
// middle of a write) and returns the start record to write first.
func (l *Log) resume() (*Entry, error) {
	start := Acquire()
	start.Kind, start.Time, start.Version, start.Clean = KindStart, time.Now(), l.opts.Version, true
	l.seq = 1
	files, err := Files(l.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list receipts: %w", err)
	}
	for i := len(files) - 1; i >= 0; i-- {
		name := files[i]
		last, seq, kind, cut, err := lastLine(name)
		if err != nil {
			return nil, err
		}
		start.Truncated += cut
		if last == nil {
			if i == len(files)-1 {
				// The newest file is empty (a crash right after a
				// rotation): keep appending to it.
				if err := l.openAppend(name); err != nil {
					return nil, err
				}
			}
			continue
		}
		l.prev, l.seq = []byte(Hash(last)), seq+1
		start.Resumed = filepath.Base(name)
		start.Clean = kind == KindStop.String()
		if l.f == nil {
			if err := l.openAppend(name); err != nil {
				return nil, err
			}
		}
		if cut > 0 {
			l.log.Warn("receipts: cut a torn last record left by a crash", "file", name, "bytes", cut)
		}
		return start, nil
	}
	if len(files) > 0 {
		start.Clean = false // files, but not one record: a crash before the first flush
	}
	return start, nil
}

func (l *Log) openAppend(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("cannot open receipts: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("cannot open receipts: %w", err)
	}
	l.f, l.name, l.size, l.synced = f, name, st.Size(), st.Size()
	return nil
}

// lastLine returns the last whole line of a file (nil when it has none),
// the sequence number it carries (counting on from the last line that
// decodes when it does not), its kind, and how many bytes of a torn last
// line were cut off.
func lastLine(name string) (line []byte, seq uint64, kind string, cut int64, err error) {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, "", 0, fmt.Errorf("cannot resume receipts: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, "", 0, fmt.Errorf("cannot resume receipts: %w", err)
	}
	size := st.Size()
	off := max(size-tailLen, 0)
	tail := make([]byte, size-off)
	if _, err := f.ReadAt(tail, off); err != nil && err != io.EOF {
		return nil, 0, "", 0, fmt.Errorf("cannot resume receipts: %w", err)
	}
	end := bytes.LastIndexByte(tail, '\n') + 1 // whole lines end here
	if end == 0 && off > 0 {
		return nil, 0, "", 0, fmt.Errorf("cannot resume receipts: %s ends with a line longer than %d bytes", name, tailLen)
	}
	if cut = int64(len(tail) - end); cut > 0 {
		if err := f.Truncate(off + int64(end)); err != nil {
			return nil, 0, "", 0, fmt.Errorf("cannot cut the torn last record of %s: %w", name, err)
		}
		if err := f.Sync(); err != nil {
			return nil, 0, "", 0, fmt.Errorf("cannot cut the torn last record of %s: %w", name, err)
		}
	}
	lines := bytes.Split(tail[:end], []byte{'\n'})
	lines = lines[:len(lines)-1] // after the last newline
	if off > 0 && len(lines) > 0 {
		lines = lines[1:] // may be the end of a line that started before the tail
	}
	if len(lines) == 0 {
		return nil, 0, "", cut, nil
	}
	line = lines[len(lines)-1]
	for i := len(lines) - 1; i >= 0; i-- {
		var r struct {
			Seq  uint64 `json:"seq"`
			Kind string `json:"kind"`
		}
		if json.Unmarshal(lines[i], &r) == nil && r.Seq > 0 {
			if i == len(lines)-1 {
				kind = r.Kind
			}
			return line, r.Seq + uint64(len(lines)-1-i), kind, cut, nil
		}
	}
	// No line decodes: go on from the file's name.
	n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), filePrefix), fileSuffix), 10, 64)
	return line, n + uint64(len(lines)) - 1, "", cut, nil
}
