// Package lists imports public tracker lists as vendors: Adblock Plus host
// rules (ABP), the Disconnect tracking protection services.json
// (Disconnect), the DuckDuckGo Tracker Radar blocklist tds.json (TDS) and
// the Open Cookie Database CSV (OpenCookieDatabase); Import picks one by
// its config.Formats name.
//
// An importer returns the vendors as written (config.Vendor), hosts
// normalised and never a public suffix, categories mapped onto
// consentgate's names, each with the licence and source of Options, and
// Stats counts what the list became and what it holds that consentgate
// cannot express (path rules, exceptions, unknown categories). Vendors of
// the grouped formats get ids of the format's short name (or Options.ID)
// and the slug of their owner's name, with ".category" appended when one
// owner appears with several categories.
//
// What a list may change is decided when it is compiled (rules.Compile):
// an import only adds, never taking a host, cookie or cookie prefix of the
// catalogue or of config vendors, nor a subdomain of a curated host.
// Callers cap what they read (rules: 64 MiB a file).
package lists
