// Package respcache holds the proxy's rewritten responses, so that the
// same upstream page served to many opted-out visitors under the same
// policy is decoded, rewritten and encoded once: a hit is the bytes the
// proxy sent the first time.
//
// # Key
//
// Cache.Key is a HighwayHash-128, under a secret the cache draws from
// crypto/rand when it is made, of
//
//   - the upstream body as received, before decoding, and its content
//     coding;
//   - the codings the client takes (its Accept-Encoding as a coding set):
//     with the upstream's coding they decide the coding the body is sent
//     in, and whether a page that loses nothing goes out as the upstream
//     sent it, so the whole set is keyed rather than the proxy's choice,
//     which its body path may refine (browsers send the same few sets);
//   - the rule-set version and the site's name (the site's actions and
//     allow-list are in the version);
//   - the rest of the rewrite.Policy: denied categories, stub, guard,
//     Explain, the head and tail inserted (the guard's script, the GPC
//     notice) and the placeholders' texts.
//
// One changed byte of the body, a reload to another rule set, another
// policy or another site gives another key. A policy whose placeholders
// carry a key of their own response (Placeholders.Key, with the guard)
// has no key: such a page differs for every response and is not cached.
// TestKeyCoversPolicy fails when rewrite.Policy gains a field the key does
// not cover.
//
// Why a keyed hash, and this one: the body is the key, and a client can
// choose bodies (a page that echoes its query), so the hash must be a
// keyed function whose collisions no one outside the process can find, or
// one page could be served for another. HighwayHash (Google's keyed hash,
// made to be a strong pseudo-random function; github.com/minio/highwayhash,
// kept by MinIO, which checks its stored data with it) hashes a 150 KB page
// in about 16 to 23 µs with AVX2 here, where SipHash-128 takes about 86 µs
// and keyed BLAKE3 57 µs (medians on the shared 2-core development
// machine; the commit that added the package has the table). xxh3 is
// faster still, but its seed is no defence against collisions chosen by
// an attacker.
//
// ristretto keys by the low 64 bits of the Key; the high 64 bits are kept
// with the entry and checked by Get, so two Keys that share their low
// half never share an entry.
//
// # Value
//
// An Entry is what the response depended on its body for: the body as
// sent and its Content-Encoding (Content-Length follows from it), the
// fail-closed reason of a page sent as it came, and what the rewriter
// removed (vendors by id, with their category on the site), read and
// counted (Stats), so a hit counts in metrics and receipts what the miss
// counted. The CSP hash of the guard or stub is not in it: it depends on
// the policy, which the proxy computes for the key anyway.
//
// # Bound and admission
//
// Options.MaxBytes (default 64 MiB) bounds the entries, each costing its
// body's allocation, its strings and a fixed 320 bytes (Entry.Cost), and
// the entries handed to Set that ristretto has not admitted yet (a
// thirty-second of the bound: past it, Set waits for ristretto, or refuses
// when another caller is waiting already). ristretto's own tables add
// about 1 MiB for 64 MiB (TestMemoryBound: 100 000 distinct pages of 20 to
// 150 KB keep the heap the cache holds under 65 MiB). Entries above
// Options.MaxEntry are refused; the proxy offers only bodies it read whole
// (up to its buffer limit), never a streamed one.
//
// Admission is ristretto's TinyLFU: a new entry displaces only entries
// estimated to be used less often, so a flood of one-off pages does not
// evict the pages read most (TestFloodKeepsHotSet).
//
// # Metrics
//
// A Cache is a prometheus.Collector: consentgate_response_cache_hits_total,
// _misses_total, _evictions_total, _refused_total{reason} (admission,
// too_large, busy), _bytes and _max_bytes.
//
// # Concurrency
//
// Key, Get and Set are safe for concurrent use; Get does not allocate. An
// Entry that Get returns is shared and never modified: its Body can go out
// with fasthttp's Response.SetBodyRaw. Close stops ristretto's goroutines
// once the Gets and Sets under way are done; it may come at any time.
package respcache
