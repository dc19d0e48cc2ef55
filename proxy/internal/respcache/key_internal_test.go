package respcache

import "testing"

// TestHighHalfChecked: ristretto keys by the low half of a Key; two keys
// that share it and differ in the high half never share an entry.
func TestHighHalfChecked(t *testing.T) {
	c, err := New(Options{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k1, k2 := Key{lo: 7, hi: 1}, Key{lo: 7, hi: 2}
	c.Set(k1, &Entry{Body: []byte("one")})
	c.Wait()
	if e, hit := c.Get(k1); !hit || string(e.Body) != "one" {
		t.Fatalf("Get(k1) = %v %v, want its entry", e, hit)
	}
	if e, hit := c.Get(k2); hit {
		t.Errorf("Get(k2) hit the entry of k1: %q", e.Body)
	}
	c.Set(k2, &Entry{Body: []byte("two")})
	c.Wait()
	if e, hit := c.Get(k1); hit {
		t.Errorf("after Set(k2), Get(k1) = %q, want a miss (k2 took the slot)", e.Body)
	}
	if e, hit := c.Get(k2); !hit || string(e.Body) != "two" {
		t.Errorf("Get(k2) = %v %v, want its entry", e, hit)
	}
}
