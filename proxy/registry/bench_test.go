package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/consentgate/consentgate/proxy/registry/registrytest"
	"github.com/consentgate/consentgate/signals"
	"github.com/valkey-io/valkey-go"
)

// BenchmarkLookupCached is the request path's cost with the registry on
// and the account's answer cached: the HMAC of the id and a cache hit.
// Compare BenchmarkDoCacheHit, valkey-go's own server-assisted client-side
// cache answering the same question.
func BenchmarkLookupCached(b *testing.B) {
	srv := registrytest.Start(b)
	r, _ := open(b, srv.URL())
	id := []byte("3f0c2a9e-7d41-4b8e-9a55-0c1d2e3f4a5b")
	for _, optedOut := range []bool{false, true} {
		name := map[bool]string{false: "not-opted-out", true: "opted-out"}[optedOut]
		k, _ := hasher.Sum(id)
		if err := r.Record(context.Background(), k, optedOut); err != nil {
			b.Fatal(err)
		}
		want := map[bool]signals.RegistryAnswer{false: signals.RegistryNotOptedOut, true: signals.RegistryOptedOut}[optedOut]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				k, _ := hasher.Sum(id)
				if r.Lookup(k) != want {
					b.Fatal("wrong answer")
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k, _ := hasher.Sum(id)
					r.Lookup(k)
				}
			})
		})
		id = append(id, 'x')
	}
}

func BenchmarkDoCacheHit(b *testing.B) {
	srv := registrytest.Start(b)
	c, err := valkey.NewClient(valkey.ClientOption{InitAddress: []string{srv.Addr}, ForceSingleClient: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	k, _ := hasher.Sum([]byte("3f0c2a9e-7d41-4b8e-9a55-0c1d2e3f4a5b"))
	name := k.Name()
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Set().Key(name).Value("1").Build()).Error(); err != nil {
		b.Fatal(err)
	}
	get := func() {
		if _, err := c.DoCache(ctx, c.B().Get().Key(name).Cache(), time.Minute).ToString(); err != nil {
			b.Fatal(err)
		}
	}
	get()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			get()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get()
			}
		})
	})
}
