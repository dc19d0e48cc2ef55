package signals

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeCountryDB writes a MaxMind DB (format 2.0, IPv4, 24-bit records)
// in which every address is in country cc, and returns its path. One node
// whose two records point at the one data record {country: {iso_code: cc}}.
func writeCountryDB(t testing.TB, dir, name, cc string) string {
	t.Helper()
	var b bytes.Buffer
	const nodes = 1
	rec := nodes + 16 // a data pointer: node count + separator + offset 0
	for range 2 {
		b.Write([]byte{byte(rec >> 16), byte(rec >> 8), byte(rec)})
	}
	b.Write(make([]byte, 16)) // data section separator
	str := func(s string) { b.WriteByte(0x40 | byte(len(s))); b.WriteString(s) }
	mapOf := func(n int) { b.WriteByte(0xe0 | byte(n)) }
	uint16v := func(v int) { b.Write([]byte{0xa2, byte(v >> 8), byte(v)}) }
	mapOf(1)
	str("country")
	mapOf(1)
	str("iso_code")
	str(cc)
	b.WriteString("\xab\xcd\xefMaxMind.com")
	mapOf(7)
	str("node_count")
	b.Write([]byte{0xc1, nodes})
	str("record_size")
	uint16v(24)
	str("ip_version")
	uint16v(4)
	str("database_type")
	str("Test-Country")
	str("binary_format_major_version")
	uint16v(2)
	str("binary_format_minor_version")
	uint16v(0)
	str("build_epoch")
	b.Write([]byte{0x01, 0x02, 0x01}) // uint64 (extended type 9), one byte
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mapped reports whether path is mapped into this process (an open
// maxminddb reader maps its file).
func mapped(t *testing.T, path string) bool {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("cannot read /proc/self/maps: %v", err)
	}
	return strings.Contains(string(maps), path)
}

func TestGeoIPDatabase(t *testing.T) {
	dir := t.TempDir()
	r := newTestReader(t, Options{})
	site := testSite()
	site.CountryHeader = ""
	site.GeoIPDatabase = writeCountryDB(t, dir, "de.mmdb", "DE")
	if err := r.OpenGeoIP(site.GeoIPDatabase); err != nil {
		t.Fatal(err)
	}
	if c := r.ReadAddr(PolicyOf(site), header(t, ""), netip.MustParseAddr("192.0.2.1")); c.Mode != ModeOptIn {
		t.Errorf("an address in a DE-only database: mode %v, want opt-in", c.Mode)
	}
}

// TestRetainGeoIPClosesUnused: a database no rule set names any more is
// closed (its file unmapped) after the grace period; the one still named
// stays open.
func TestRetainGeoIPClosesUnused(t *testing.T) {
	dir := t.TempDir()
	r := newTestReader(t, Options{})
	de, fr := writeCountryDB(t, dir, "de.mmdb", "DE"), writeCountryDB(t, dir, "fr.mmdb", "FR")
	for _, p := range []string{de, fr} {
		if err := r.OpenGeoIP(p); err != nil {
			t.Fatal(err)
		}
	}
	if !mapped(t, de) || !mapped(t, fr) {
		t.Fatal("an open database is not mapped: the check below would pass vacuously")
	}
	r.RetainGeoIP([]string{de}, 0)
	deadline := time.Now().Add(5 * time.Second)
	for mapped(t, fr) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the grace timer runs on its own goroutine
	}
	if mapped(t, fr) {
		t.Error("a database no set names is still open after its grace period")
	}
	if !mapped(t, de) {
		t.Error("the database the set names was closed")
	}
	r.Close()
	if mapped(t, de) {
		t.Error("Reader.Close left a database open")
	}
}

// TestGeoIPLookupTakesNoLock: a lookup in an open database does not wait
// for the lock that opening and retiring take (it was taken by every
// lookup).
func TestGeoIPLookupTakesNoLock(t *testing.T) {
	r := newTestReader(t, Options{})
	site := testSite()
	site.CountryHeader = ""
	site.GeoIPDatabase = writeCountryDB(t, t.TempDir(), "de.mmdb", "DE")
	if err := r.OpenGeoIP(site.GeoIPDatabase); err != nil {
		t.Fatal(err)
	}
	r.geo.mu.Lock()
	var wg sync.WaitGroup
	wg.Add(1)
	done := make(chan Mode, 1)
	go func() {
		defer wg.Done()
		done <- r.ReadAddr(PolicyOf(site), header(t, ""), netip.MustParseAddr("192.0.2.1")).Mode
	}()
	select {
	case m := <-done:
		if m != ModeOptIn {
			t.Errorf("mode %v, want opt-in", m)
		}
	case <-time.After(5 * time.Second):
		t.Error("a lookup waited 5s on the lock of the database table")
	}
	r.geo.mu.Unlock()
	wg.Wait()
}

// TestOpenGeoIPRetries: a database that failed to open is tried again by
// OpenGeoIP (a reload after the operator fixed the file), though never by
// a request.
func TestOpenGeoIPRetries(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "late.mmdb")
	r := newTestReader(t, Options{})
	if err := r.OpenGeoIP(path); err == nil {
		t.Fatal("opening a missing database succeeded")
	}
	writeCountryDB(t, dir, "late.mmdb", "DE")
	if err := r.OpenGeoIP(path); err != nil {
		t.Errorf("after the file appeared: %v", err)
	}
}
