// Package registry is the shared opt-out registry: a Redis or Valkey server
// that remembers which accounts opted out, so that an opt-out made on one
// device (or through one replica) applies to every device of the account,
// through every replica.
//
// # Keys
//
// A site names a first-party cookie or header carrying a stable account id
// (rules.Account). The proxy hashes the id with HMAC-SHA256 under the
// site's secret (Hasher, no allocation) and only the hash leaves the
// process: the registry key is KeyPrefix and 64 hex digits; its value is
// the Unix time of the opt-out. An opt-in deletes the key. Sites sharing a
// secret share their accounts' opt-outs.
//
// # The request path
//
// Lookup never does more than wait Budget (default 3ms) for the network:
//
//   - A cached answer is returned at once: an opt-out for as long as the
//     cache holds it (checked again in the background after Refresh, and
//     never dropped because the registry cannot answer); "no opt-out"
//     until NegativeTTL, or until the registry says the key changed.
//   - Otherwise one GET per account goes out (requests for the same
//     account share it; at most MaxInFlight at once). A request waits for
//     it up to Budget; the GET goes on for up to LookupTimeout and its
//     answer is cached for the next request.
//   - When the registry is known to be down, nothing is sent and nothing
//     waits; a prober pings it every ProbeInterval and the client
//     reconnects by itself.
//
// Every answer that is not known is signals.RegistryUnknown: the other
// signals decide alone, so a registry failure never turns an opt-out into
// consent and never delays a page beyond the budget.
//
// # Propagation
//
// The client subscribes to invalidations of KeyPrefix (RESP3 client
// tracking, broadcast mode): every replica hears of every write at once
// and drops its cached "no opt-out" for that account, so the next request
// through any replica asks the registry. A lost connection drops every
// cached negative answer (invalidations may have been missed). Without
// RESP3 (Redis before 6) NegativeTTL alone bounds how late an opt-out made
// through another replica is seen. A cached opt-out that an invalidation
// touches is refreshed first: an opt-in is believed only once the
// registry confirms it.
//
// # Client
//
// github.com/valkey-io/valkey-go: it speaks to Redis and Valkey alike, its
// RESP3 client tracking delivers the invalidations, and concurrent commands
// are pipelined on a few connections instead of one connection each. Its
// own client-side cache (DoCache) was measured against the ristretto cache
// of answers used here (BenchmarkLookupCached): the answers cache also
// keeps opt-outs through an outage, which a connection-bound client cache
// drops with the connection.
//
// # Metrics
//
// consentgate_registry_lookups_total{result} (hit, miss, timeout, error,
// stale, shed), consentgate_registry_requests_total{op,result},
// consentgate_registry_request_duration_seconds{op},
// consentgate_registry_up, consentgate_registry_invalidations_total.
package registry
