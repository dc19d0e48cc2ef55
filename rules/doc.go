// Package rules decides what counts as tracking: the vendor catalogue, the
// per-site policy from the config file, imported public lists, and their
// compilation into an immutable *Set with fast matchers.
//
// # Layout
//
// Each job has a package or a file group of its own; imports point one
// way, from rules to its sub-packages, which import nothing of rules:
//
//   - rules/config: the config file as written, Parse and Validate (no
//     side effects, every problem with its line and field path).
//   - rules/lists: the importers of public lists (ABP, Disconnect, Tracker
//     Radar, Open Cookie Database).
//   - rules/urlhost: host names as the browser reads them (URL hosts, the
//     canonical form lookups compare, configured host names).
//   - rules/matcher: the Aho-Corasick automaton of inline-script
//     signatures.
//   - rules/reload (imports rules): the Holder of the set in use, the file
//     and URL watchers, and Check, which consentgate check runs.
//   - rules/rulestest (imports rules): Compile, a config's YAML to a Set
//     for other packages' tests.
//
// In package rules: the Set and its lookups (set.go, site.go, vendor.go,
// category.go; the tables in hostfilter.go and cookie.go, the caches in
// cache.go), the catalogue (catalogue.go, catalogue.yaml), compiling a
// config (compile.go, compile_site.go, compile_import.go for the imports,
// account.go, keep.go, evidence.go for the canary and guard.go for the
// guard mode), and a site's declared cookie table (declared.go).
//
// # Lookups
//
// A Set answers on the request hot path, without allocating and without
// keeping the caller's bytes: which site a request host belongs to
// (Set.Site), which vendor a URL host belongs to (Set.VendorForHost, and
// Set.Classify / Set.ClassifyURL, which also apply the site's own and
// first-party hosts and its allow-list), which vendor sets a cookie
// (Set.CookieVendor), and which vendors' snippets occur in an inline script
// (Set.Signatures, an Aho-Corasick automaton of package rules/matcher;
// Matcher.Start gives a MatchState for text that arrives in chunks).
//
// Host matching is by suffix at label boundaries: "x.doubleclick.net"
// matches the entry "doubleclick.net"; the longest listed suffix wins. No
// entry may be a public suffix (ICANN or private section of the Public
// Suffix List), so an entry never claims unrelated sites. Lookups use tables
// built at compile time (a Bloom prefilter and a map of suffixes, a sorted
// prefix table for cookies). Set.Site and Set.Classify, the lookups a
// request makes, are cached in front of the tables in two levels: a
// lock-free front table owned by the Set (one hash, one atomic load) and a
// process-wide ristretto cache behind it (cache.go). Every cached entry
// carries its whole key, so the caches change the cost of a lookup, never
// its answer. CloseCaches stops the process-wide caches' goroutines (at the
// end of a program or test binary); the next miss starts them again.
//
// # Config
//
// The config file is package rules/config's: config.Parse decodes it,
// config.Validate checks what the file alone shows. Compile runs Validate
// and then what only compiling shows (the names of categories, actions
// and guard modes, vendor ids, hosts claimed twice, the files the config
// names), and reports every problem of both in one *config.Error whose
// Problems carry line and field path ("sites[0].hosts[1]"). Compile does
// not change the config. docs/rules.md documents every key. Set.Warnings
// lists what a valid config is warned about.
//
// A site may give a vendor its own category (vendor_categories). It is
// compiled into the Site: Site.Category is the category of a vendor on a
// site, and Site.Denied and Site.Action use it, so callers decide with
// those and never with Vendor.Category directly.
//
// # Reload
//
// A Set never changes; a new config makes a new Set. Package rules/reload
// keeps the current one (reload.Holder, one atomic pointer), reloads it
// from a file or a URL (FileWatcher, URLWatcher) and keeps the last good
// set when a reload fails.
//
// # Limits
//
// Hosts are read as the browser's host parser reads them (package urlhost:
// urlhost.Find takes the host out of a URL the WHATWG way, and every lookup
// compares the canonical form urlhost.Buf.Canonical gives, with
// percent-escapes decoded and a host past ASCII mapped by UTS #46), so
// "www。facebook。com" matches facebook.com; a host the browser refuses
// matches nothing. Only such hosts allocate. Hosts longer than 253 bytes
// (after that mapping) and IPv6 literals match no vendor. Signatures
// are case-sensitive byte strings. Imported lists (read by package
// rules/lists) are capped at 64 MiB and
// fetched configs at 8 MiB. Imported vendors never take a host, cookie or
// cookie prefix from the catalogue or from config vendors, nor a subdomain
// of a curated host: an import adds what the catalogue lacks and never
// changes the category of what it has (keepCurated in compile_import.go).
package rules
