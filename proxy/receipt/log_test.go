package receipt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/rules/config"
	"github.com/consentgate/consentgate/signals"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("RECEIPT_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		return
	}
	goleak.VerifyTestMain(m)
}

var testSet = func() *rules.Set {
	s, err := rules.Compile(config.Default("http://127.0.0.1:1"))
	if err != nil {
		panic(err)
	}
	return s
}()

// response returns a typical record of an opted-out page; n tells records apart.
func response(n int) *Entry {
	e := Acquire()
	e.Kind = KindResponse
	e.Time = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	e.Site, e.Rules = "www", testSet.Version()
	e.OptedOut, e.Denied, e.Sources = true, rules.DefaultDeny, signals.GPC
	e.Status, e.HTML = 200, true
	ga := testSet.VendorByID("google-analytics")
	e.AddRemoval(ga, ga.Category, rules.Remove, "script", 1)
	e.AddRemoval(testSet.VendorByID("meta-pixel"), rules.Advertising, rules.Remove, "img", n%3)
	e.AddRemoval(ga, ga.Category, rules.Remove, "script", 1)
	e.CookieDroppedRequest(ga, ga.Category)
	e.CookieExpired(ga, ga.Category)
	e.SetCookie([]byte("_ga"))
	e.SetCookie([]byte("session"))
	e.Path = strconv.Itoa(n) // not written for responses; for tests that need an id use Status
	e.Status = 200 + n%100
	return e
}

func openLog(t testing.TB, dir string, tweak ...func(*Options)) *Log {
	t.Helper()
	o := Options{Dir: dir, FlushInterval: time.Hour, Version: "test"}
	for _, f := range tweak {
		f(&o)
	}
	l, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func verify(t testing.TB, dir string) *Summary {
	t.Helper()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Verify(files)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readAll(t testing.TB, dir string) []Record {
	t.Helper()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	err = ReadRecords(files, func(l Line, r *Record, err error) error {
		if err != nil {
			return fmt.Errorf("%s:%d: %v", l.File, l.No, err)
		}
		out = append(out, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChainRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	for i := range 10 {
		if !l.Add(response(i)) {
			t.Fatalf("Add %d dropped", i)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, dir)
	if len(recs) != 12 || recs[0].Kind != "start" || recs[11].Kind != "stop" {
		t.Fatalf("got %d records (%s … %s), want start, 10 responses, stop", len(recs), recs[0].Kind, recs[len(recs)-1].Kind)
	}
	r := recs[1]
	if r.Seq != 2 || r.Site != "www" || !r.OptedOut || strings.Join(r.Denied, ",") != "advertising,analytics,social" ||
		strings.Join(r.Sources, ",") != "gpc" || r.Rules != testSet.Version() || !r.HTML || r.Mode != "opt-out" {
		t.Errorf("decision not recorded as given: %+v", r)
	}
	if len(r.Removed) != 1 || r.Removed[0].Vendor != "google-analytics" || r.Removed[0].Elements["script"] != 2 || r.Removed[0].Category != "analytics" {
		t.Errorf("removed = %+v, want google-analytics script 2 (aggregated)", r.Removed)
	}
	if len(r.Cookies) != 1 || r.Cookies[0].DroppedRequest != 1 || r.Cookies[0].Expired != 1 {
		t.Errorf("cookies = %+v", r.Cookies)
	}
	if strings.Join(r.SetCookies, ",") != "_ga,session" {
		t.Errorf("set_cookies = %v", r.SetCookies)
	}
	s := verify(t, dir)
	if !s.OK() || !s.Genesis || s.Records != 12 || s.FirstSeq != 1 || s.LastSeq != 12 {
		t.Errorf("verify: %+v", s)
	}
}

// TestRecordJSONIsStable pins the line format: the chain hashes these
// exact bytes, so a change here is a format change (say so in docs).
func TestRecordJSONIsStable(t *testing.T) {
	e := response(4)
	defer Release(e)
	got := string(e.appendJSON(nil, 7, []byte(strings.Repeat("ab", 32))))
	want := `{"seq":7,"time":"2026-03-01T12:00:04Z","kind":"response","site":"www","rules":"` + testSet.Version() +
		`","shadow":false,"opted_out":true,"mode":"opt-out","denied":["advertising","analytics","social"],"sources":["gpc"],` +
		`"status":204,"html":true,"removed":[{"vendor":"google-analytics","category":"analytics","action":"remove","elements":{"script":2}},` +
		`{"vendor":"meta-pixel","category":"advertising","action":"remove","elements":{"img":1}}],` +
		`"cookies":[{"vendor":"google-analytics","category":"analytics","dropped_request":1,"expired":1}],"set_cookies":["_ga","session"],` +
		`"prev":"` + strings.Repeat("ab", 32) + `"}`
	if got != want {
		t.Errorf("line\n got %s\nwant %s", got, want)
	}
	var r Record
	if err := json.Unmarshal([]byte(got), &r); err != nil {
		t.Fatalf("the line is not JSON: %v", err)
	}
}

func TestNamesNeverValues(t *testing.T) {
	e := Acquire()
	defer Release(e)
	for _, n := range []string{"ok", "a=b", "has space", strings.Repeat("x", MaxNameLen+1), "ok"} {
		e.SetCookie([]byte(n))
	}
	if strings.Join(e.SetCookies(), ",") != "ok" || e.SetCookieN != 3 {
		t.Errorf("SetCookies %q, other %d; want only the one token name, 3 counted", e.SetCookies(), e.SetCookieN)
	}
}

// tamper rewrites line n (1-based) of a file with f.
func tamper(t *testing.T, path string, f func(lines [][]byte) [][]byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte{'\n'})
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if err := os.WriteFile(path, bytes.Join(f(lines), nil), 0o640); err != nil {
		t.Fatal(err)
	}
}

// chainDir writes start, n responses and stop across files of about
// maxSize bytes, and returns the directory and its files.
func chainDir(t *testing.T, n int, maxSize int64) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.MaxFileSize = maxSize })
	for i := range n {
		l.Add(response(i))
	}
	l.Close()
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func TestVerifyFindsTampering(t *testing.T) {
	type want struct {
		what string
		file int // index into the files
		line int
	}
	for _, c := range []struct {
		name   string
		file   int
		change func([][]byte) [][]byte
		want   []want
	}{
		{"intact", 0, func(l [][]byte) [][]byte { return l }, nil},
		{"edited", 0, func(l [][]byte) [][]byte {
			l[3] = bytes.Replace(l[3], []byte(`"opted_out":true`), []byte(`"opted_out":fals`), 1)
			l[3] = bytes.Replace(l[3], []byte(`"opted_out":fals`), []byte(`"opted_out":false`), 1)
			return l
		}, []want{{BreakEdited, 0, 4}}},
		{"edited into garbage", 0, func(l [][]byte) [][]byte { l[2] = []byte("{oops\n"); return l }, []want{{BreakEdited, 0, 3}}},
		{"deleted", 0, func(l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) }, []want{{BreakDeleted, 0, 3}}},
		{"deleted two", 0, func(l [][]byte) [][]byte { return append(l[:2:2], l[4:]...) }, []want{{BreakDeleted, 0, 3}}},
		{"reordered", 0, func(l [][]byte) [][]byte { l[2], l[3] = l[3], l[2]; return l }, []want{
			{BreakReordered, 0, 3}, {BreakReordered, 0, 4}, {BreakReordered, 0, 5}}},
		{"first line of the second file edited", 1, func(l [][]byte) [][]byte {
			l[0] = bytes.Replace(l[0], []byte(`"status":`), []byte(`"status":9`), 1)
			return l
		}, []want{{BreakEdited, 1, 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, files := chainDir(t, 20, 4<<10)
			if len(files) < 3 {
				t.Fatalf("want at least 3 files to test across them, got %d", len(files))
			}
			tamper(t, files[c.file], c.change)
			s, err := Verify(files)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, b := range s.Breaks {
				fi := -1
				for i, f := range files {
					if f == b.File {
						fi = i
					}
				}
				got = append(got, want{b.What, fi, b.Line})
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("breaks %v, want %v\n%v", got, c.want, s.Breaks)
			}
		})
	}
}

func TestVerifyGapBetweenFiles(t *testing.T) {
	_, files := chainDir(t, 30, 3<<10)
	if len(files) < 4 {
		t.Fatalf("want at least 4 files, got %d", len(files))
	}
	s, err := Verify(append(files[:1:1], files[2:]...))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Breaks) != 1 || s.Breaks[0].What != BreakGap || s.Breaks[0].File != files[2] || s.Breaks[0].Line != 1 {
		t.Fatalf("breaks %v, want one gap at %s:1", s.Breaks, files[2])
	}
	// Files given out of order read as reordered.
	s, err = Verify([]string{files[1], files[0], files[2]})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Breaks) == 0 || s.Breaks[0].What != BreakReordered {
		t.Errorf("files out of order: breaks %v, want reordered first", s.Breaks)
	}
	// Older files removed by retention: the rest still verifies.
	s, err = Verify(files[2:])
	if err != nil {
		t.Fatal(err)
	}
	if !s.OK() || s.Genesis {
		t.Errorf("a chain without its first files: ok=%v genesis=%v %v, want ok and not genesis", s.OK(), s.Genesis, s.Breaks)
	}
}

func TestRestartContinuesChain(t *testing.T) {
	dir := t.TempDir()
	for run := range 3 {
		l := openLog(t, dir, func(o *Options) { o.MaxFileSize = 2 << 10 })
		for i := range 5 {
			l.Add(response(run*10 + i))
		}
		l.Close()
	}
	s := verify(t, dir)
	if !s.OK() || s.Records != 3*7 || len(s.Warnings) != 0 {
		t.Fatalf("three runs: %d records, breaks %v, warnings %v; want 21 records, no breaks or warnings", s.Records, s.Breaks, s.Warnings)
	}
	recs := readAll(t, dir)
	if recs[7].Kind != "start" || !recs[7].Clean || recs[7].Resumed == "" {
		t.Errorf("second start record %+v: want clean, resumed from a file", recs[7])
	}
}

func TestTornLastLineIsCutOnRestart(t *testing.T) {
	dir, files := chainDir(t, 3, 1<<20)
	last := files[len(files)-1]
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":6,"time":"2026-03-01T12:00:09Z","kind":"resp`) // a crash mid-write
	f.Close()
	s := verify(t, dir)
	if !s.OK() || len(s.Warnings) != 1 || s.Warnings[0].What != BreakTorn {
		t.Fatalf("torn tail: breaks %v warnings %v, want one torn warning", s.Breaks, s.Warnings)
	}
	l := openLog(t, dir)
	l.Add(response(9))
	l.Close()
	s = verify(t, dir)
	if !s.OK() || len(s.Warnings) != 0 {
		t.Fatalf("after restart: breaks %v warnings %v", s.Breaks, s.Warnings)
	}
	recs := readAll(t, dir)
	start := recs[len(recs)-3]
	if start.Kind != "start" || start.Truncated != int64(len(`{"seq":6,"time":"2026-03-01T12:00:09Z","kind":"resp`)) || !start.Clean {
		t.Errorf("start record after the torn line %+v: want truncated_bytes, clean (the run before stopped)", start)
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	hold := make(chan struct{})
	l := openLog(t, dir, func(o *Options) { o.QueueSize = 4; o.Registerer = reg; o.hold = hold })
	results := make([]bool, 0, 8)
	results = append(results, l.Add(response(0)))
	// The writer holds response 0 until hold closes; fill the queue behind
	// it and then some. Add must return at once each time, whatever the
	// writer does.
	waitFor(t, func() bool { return len(l.q) == 0 })
	for i := 1; i <= 7; i++ {
		results = append(results, l.Add(response(i)))
	}
	if fmt.Sprint(results) != "[true true true true true false false false]" {
		t.Errorf("Add results %v: want 5 queued (one taken by the writer, 4 in the queue) and 3 dropped", results)
	}
	if got := testutil.ToFloat64(l.m.droppedFull); got != 3 {
		t.Errorf("consentgate_receipts_dropped_total{reason=queue_full} = %v, want 3", got)
	}
	close(hold)
	l.Close()
	s := verify(t, dir)
	if !s.OK() || s.Lost != 3 {
		t.Errorf("verify: ok=%v lost=%d, want ok with 3 lost (recorded in the chain)", s.OK(), s.Lost)
	}
	if l.Add(response(9)) || testutil.ToFloat64(l.m.droppedClosed) != 1 {
		t.Errorf("Add after Close must drop and count")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSecondWriterRefused(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	defer l.Close()
	if _, err := Open(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "another consentgate") {
		t.Fatalf("second Open of one directory: err %v, want it refused", err)
	}
}

// crashChild is the child process of TestCrashLosesAtMostOneFlush: it adds
// records as fast as it can, reporting each after Add, until killed.
func crashChild(dir string) {
	l, err := Open(Options{Dir: dir, FlushInterval: 100 * time.Millisecond})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		e := response(i)
		e.Status = 100000 + i // the id, read back by the parent
		if l.Add(e) {
			fmt.Fprintf(out, "%d %d\n", i, time.Now().UnixNano())
			out.Flush()
		}
		// 200 records a second take about three seconds to fill the
		// 256 KiB write buffer: only the timed flush keeps the loss of
		// this 1.5 s run within an interval.
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCrashLosesAtMostOneFlush kills a writing process with SIGKILL, starts
// a writer again on the same directory, and checks that the chain verifies,
// that what survived is every record added up to a point, and that what
// was lost was added within the last flush interval (plus scheduling slack)
// before the kill.
func TestCrashLosesAtMostOneFlush(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process for a second")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "RECEIPT_CRASH_CHILD="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	added := map[int]int64{}
	sc := bufio.NewScanner(stdout)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for sc.Scan() {
		var i int
		var at int64
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &i, &at); err != nil {
			t.Fatalf("child: %q", sc.Text())
		}
		added[i] = at
		if time.Now().After(deadline) && len(added) > 100 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now().UnixNano()
	go func() {
		for sc.Scan() {
		}
	}()
	cmd.Wait()

	l := openLog(t, dir)
	l.Add(response(1))
	l.Close()
	s := verify(t, dir)
	if !s.OK() {
		t.Fatalf("chain broken after a crash and restart: %v", s.Breaks)
	}
	var sawUnclean bool
	for _, w := range s.Warnings {
		sawUnclean = sawUnclean || w.What == "unclean restart"
	}
	if !sawUnclean {
		t.Errorf("the restart after SIGKILL is not flagged as unclean: warnings %v", s.Warnings)
	}
	onDisk := map[int]bool{}
	for _, r := range readAll(t, dir) {
		if r.Kind == "response" && r.Status >= 100000 {
			onDisk[r.Status-100000] = true
		}
	}
	maxOnDisk := -1
	for i := range onDisk {
		maxOnDisk = max(maxOnDisk, i)
	}
	for i := 0; i <= maxOnDisk; i++ {
		if !onDisk[i] {
			t.Fatalf("record %d is missing although %d was written: a hole, not a lost tail", i, maxOnDisk)
		}
	}
	const window = 100*time.Millisecond*2 + 300*time.Millisecond // two flush intervals and scheduling slack
	lost := 0
	for i, at := range added {
		if onDisk[i] {
			continue
		}
		lost++
		if age := time.Duration(killed - at); age > window {
			t.Errorf("record %d was added %v before the kill and lost: more than a flush interval", i, age)
		}
	}
	t.Logf("%d records added, %d on disk, %d lost in the last flush interval", len(added), len(onDisk), lost)
	if len(onDisk) < len(added)/2 {
		t.Errorf("only %d of %d records reached the disk", len(onDisk), len(added))
	}
}

func TestTally(t *testing.T) {
	dir := t.TempDir()
	total := []Tally{{Site: "www", OptedOut: 3, NotOptedOut: 7}, {Site: "blog"}}
	l := openLog(t, dir, func(o *Options) {
		o.Tally = func(dst []Tally) []Tally { return append(dst, total...) }
	})
	l.Close()
	recs := readAll(t, dir)
	var tallies []Record
	for _, r := range recs {
		if r.Kind == "tally" {
			tallies = append(tallies, r)
		}
	}
	if len(tallies) != 1 || tallies[0].Site != "www" || tallies[0].Requests.OptedOut != 3 || tallies[0].Requests.NotOptedOut != 7 {
		t.Errorf("tallies %+v: want one for www (blog had none)", tallies)
	}
	_ = testutil.ToFloat64
}

// TestEntryAllocs: filling a pooled Entry on the request path allocates
// nothing once warm.
func TestEntryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	ga, fb := testSet.VendorByID("google-analytics"), testSet.VendorByID("meta-pixel")
	name := []byte("_ga_NW4DEMO01")
	fill := func() {
		e := Acquire()
		e.Kind, e.Site, e.Rules, e.OptedOut, e.Denied, e.Sources = KindResponse, "www", "v", true, rules.DefaultDeny, signals.GPC
		for range 5 {
			e.AddRemoval(ga, ga.Category, rules.Remove, "script", 1)
			e.AddRemoval(fb, fb.Category, rules.Remove, "img", 1)
		}
		e.CookieDroppedRequest(ga, ga.Category)
		e.CookieDroppedResponse(fb, fb.Category)
		e.CookieExpired(ga, ga.Category)
		e.SetCookie(name)
		e.SetCookie([]byte("session"))
		Release(e)
	}
	fill()
	if n := testing.AllocsPerRun(1000, fill); n != 0 {
		t.Errorf("%v allocations filling an Entry, want 0", n)
	}
}
