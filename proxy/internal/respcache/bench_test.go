package respcache_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/consentgate/consentgate/proxy/internal/respcache"
	"github.com/consentgate/consentgate/proxy/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// benchPolicy is an opted-out visitor's policy with a guard of guardSize
// bytes in the head, as the proxy keys a page.
func benchPolicy(b *testing.B, guardSize int) rewrite.Policy {
	a, _ := ruleSets(b)
	return rewrite.Policy{Set: a, Site: a.Sites()[0], Deny: rules.DefaultDeny, Stub: true, Guard: guardSize > 0,
		Head: bytes.Repeat([]byte("g"), guardSize)}
}

// BenchmarkKey is the key of a 150 KB page (the bench's opted-out page)
// with and without an 8 KiB guard script in the head: the cost a hit adds
// before it saves the rewrite. rewrite-baseline rewrites the same page,
// identity in and out, in the same run: the least a hit saves.
func BenchmarkKey(b *testing.B) {
	body := page(5, 150<<10)
	b.Run("rewrite-baseline", func(b *testing.B) {
		pol := benchPolicy(b, 0)
		w := rewrite.NewWriter(io.Discard, pol)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			w.Reset(io.Discard, pol)
			w.Write(body) //nolint:errcheck // io.Discard
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bc := range []struct {
		name  string
		guard int
	}{{"150KB", 0}, {"150KB-guard8KiB", 8 << 10}} {
		b.Run(bc.name, func(b *testing.B) {
			c := newCache(b, respcache.Options{})
			pol := benchPolicy(b, bc.guard)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				c.Key(body, &pol, "gzip", browser)
			}
		})
	}
}

// BenchmarkGetHit is a hit among 1 000 entries, its key already computed.
func BenchmarkGetHit(b *testing.B) {
	c := newCache(b, respcache.Options{})
	pol := benchPolicy(b, 0)
	keys := make([]respcache.Key, 1000)
	body := make([]byte, 30<<10)
	for i := range keys {
		binary.LittleEndian.PutUint64(body, uint64(i))
		keys[i], _ = c.Key(body, &pol, "gzip", browser)
		c.Set(keys[i], &respcache.Entry{Body: body, Encoding: "gzip"})
	}
	c.Wait()
	for _, k := range keys {
		if _, hit := c.Get(k); !hit {
			b.Fatal("an entry was not admitted")
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, hit := c.Get(keys[i%len(keys)]); !hit {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.Get(keys[i%len(keys)])
				i++
			}
		})
	})
}

// BenchmarkSet stores a 30 KB page (a 150 KB page in gzip) with two
// removals: the cost a miss adds to the rewrite. Keys are distinct, so
// the cache fills and admission refuses or evicts, as under traffic.
func BenchmarkSet(b *testing.B) {
	c := newCache(b, respcache.Options{})
	pol := benchPolicy(b, 0)
	body := make([]byte, 30<<10)
	e := &respcache.Entry{Body: body, Encoding: "gzip", Removed: []respcache.Removal{
		{Vendor: "google-analytics", Category: rules.Analytics, Action: rules.Remove, Element: "script", Count: 2},
		{Vendor: "facebook", Category: rules.Advertising, Action: rules.Remove, Element: "img", Count: 1},
	}}
	keys := make([]respcache.Key, 4096)
	for i := range keys {
		binary.LittleEndian.PutUint64(body, uint64(i))
		keys[i], _ = c.Key(body, &pol, "gzip", browser)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Set(keys[i%len(keys)], e)
		i++
	}
}
