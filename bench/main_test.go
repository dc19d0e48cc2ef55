package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://127.0.0.1:8080/1k.html
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  300.00us  12.00ms   90.00%
  123456 requests in 10.00s, 140.00MB read
Requests/sec:  12345.60
Transfer/sec:     14.00MB
RESULT requests=123456 duration_us=10000123 errors=3 p50_us=1050 p99_us=2500 p999_us=9000
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := loadResult{requests: 123456, errors: 3, seconds: 10.000123, p50: 1050, p99: 2500, p999: 9000}
	if r != want {
		t.Fatalf("parseWrk = %+v, want %+v", r, want)
	}
	if rps := r.rps(); rps < 12345 || rps > 12346 {
		t.Errorf("rps = %v", rps)
	}
	for _, bad := range []string{"Requests/sec: 1\n", "RESULT requests=1 duration_us=x errors=0 p50_us=1 p99_us=1 p999_us=1\n", "RESULT requests=1\n"} {
		if _, err := parseWrk(bad); err == nil {
			t.Errorf("parseWrk(%q) succeeded", bad)
		}
	}
}

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (nginx: worker (x) ) S 4241 4241 4241 0 -1 4194624 1000 0 0 0 731 129 0 0 20 0 1 0 12345 123456789 2345 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, err := parseStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 4241 || st.utime != 731 || st.stime != 129 {
		t.Fatalf("parseStat = %+v", st)
	}
	if _, err := parseStat([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("a short stat line parsed")
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tconsentgate\nVmPeak:\t 1300000 kB\nVmHWM:\t   52000 kB\nVmRSS:\t   41000 kB\nThreads:\t8\n"
	m, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.rss != 41000<<10 || m.hwm != 52000<<10 {
		t.Fatalf("parseStatus = %+v", m)
	}
	if _, err := parseStatus([]byte("Name:\tx\nVmRSS:\t1 kB\n")); err == nil {
		t.Error("a status without VmHWM parsed")
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1000; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Microsecond)
	}
	p50, p99, p999 := percentiles(d)
	if p50 != 500 || p99 != 990 || p999 != 999 {
		t.Fatalf("percentiles = %v %v %v", p50, p99, p999)
	}
	if a, b, c := percentiles(nil); a != 0 || b != 0 || c != 0 {
		t.Fatal("percentiles of nothing")
	}
}

func TestSlug(t *testing.T) {
	if s := slug("opted-out gzip HTML (decode, rewrite, re-encode)"); s != "opted-out-gzip-html-decode-rewrite-re-encode" {
		t.Fatalf("slug = %q", s)
	}
}

func TestRegistryHeaders(t *testing.T) {
	c := &config{registry: true}
	reg, off := target{name: tCGReg, registry: true}, target{name: tCG}
	opted := workload{hdrs: []string{"Sec-GPC: 1", "Accept-Encoding: gzip"}, optout: true}
	pass := workload{}
	for _, tt := range []struct {
		t    target
		w    workload
		want string
	}{
		{reg, opted, "Accept-Encoding: gzip|" + benchOptedOut},
		{off, opted, "Sec-GPC: 1|Accept-Encoding: gzip|" + benchVisitor},
		{reg, pass, benchVisitor},
		{off, pass, benchVisitor},
	} {
		if got := strings.Join(c.headers(tt.t, tt.w), "|"); got != tt.want {
			t.Errorf("%s %v: %q, want %q", tt.t.name, tt.w.hdrs, got, tt.want)
		}
	}
	if got := (&config{}).headers(reg, opted); len(got) != 2 || got[0] != "Sec-GPC: 1" {
		t.Errorf("without -registry: %q", got)
	}
}
