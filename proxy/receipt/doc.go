// Package receipt writes and checks compliance receipts: one record for
// every response consentgate enforced for a visitor whose decision denies a
// category (and, on a shadow site, one for what it would have enforced),
// with no personal data, in hash-chained JSON-lines files.
//
// # What a record holds
//
// Never an address, a path or query, a user agent, a cookie value or a
// consent string: a record says what was decided and done, not for whom.
// Every record has
//
//	seq    the record's number in the chain, from 1, one more per record
//	time   when the request arrived, UTC, to the second (RFC 3339)
//	kind   response, canary, guard, tally, start or stop
//	prev   the chain hash of the record before it ("" for the first ever)
//	lost   (when not 0) records dropped on a full queue just before this one
//
// and, by kind:
//
//   - response: site, rules (the rule set's version, rules.Set.Version),
//     shadow, canary (the request came from consentgate's own canary),
//     opted_out, mode (opt-out or opt-in), denied (categories), sources
//     (signal sources), status, html (the body went through the rewriter,
//     or in shadow mode was read by it), incomplete (the client went away
//     or the body broke off before the rewriter saw all of it), removed
//     (per vendor and action: category and element counts, rows past
//     MaxRemoved counted in removed_other), cookies (per vendor:
//     dropped_request, dropped_response, expired), set_cookies (names, never
//     values, of the cookies the upstream set: at most MaxSetCookies token
//     names of at most MaxNameLen bytes; the rest counted in
//     set_cookies_other), fail_closed (reason codes: undecodable,
//     decoded_too_large, mid_body, script_document), oversize (elements
//     past a bound of the rewriter, handled by its rule for that bound,
//     rewrite.Stats.Oversize).
//   - canary: site, path (the configured canary path), result (pass, leak,
//     error), error, status, leaks (what, vendor, category, element or
//     cookie name), leaks_other.
//   - guard: site, rules, shadow, guard (per vendor and its category on
//     the site: n loads the runtime guard reported refusing in an opted-out
//     visitor's browser; a report is posted by the browser, so it is
//     bounded, not authenticated).
//   - tally: site, requests (opted_out, consent_required, not_opted_out:
//     requests by decision since the site's last tally; the denominator of
//     the opt-out share).
//   - start: version (of consentgate), clean (the run before ended with a
//     stop record), resumed (the file the chain was resumed from),
//     truncated_bytes (a torn last line cut off). stop: nothing more.
//
// The members are written in a fixed order, and zero values of optional
// members are left out.
//
// # The chain
//
// The chain hash of a record is the lower-case hexadecimal SHA-256 of its
// line exactly as written: the UTF-8 bytes from "{" to "}", without the
// newline. That line is the canonical form; nothing is re-encoded before
// hashing, so any tool can check it. The first record ever has prev ""; the
// first record of every later file links to the last record of the file
// before it, and after a restart the first record (a start record) links to
// the last whole record of the newest file. Verify reports, at file and
// line, a record that was edited (its hash no longer matches its
// successor's prev, or it is no longer a record), deleted (a successor
// points at nothing and the sequence numbers skip), reordered (a prev
// points at another line) and a gap between files. Cutting records off the
// end of the newest file is invisible to the chain: compare the head (the
// last hash) with the one the proxy logged when it closed the file
// ("receipts file closed"), or with a later copy of the files.
//
// # Files
//
// Files are named receipts-<seq of their first record, 12 digits>.jsonl,
// so they sort in chain order. A file is closed and a new one started when
// the next record would make it larger than Options.MaxFileSize. One
// process writes a directory at a time (flock on DIR/.lock).
//
// # Guarantees and limits
//
// Add never blocks the request: records wait in a bounded queue
// (Options.QueueSize) for one writer goroutine, which encodes, hashes and
// buffers them. Idle, the writer sleeps until a record comes; busy, it
// takes the queue every 10 ms (at once when it is half full), so under
// load handing a record over wakes no goroutine. A full queue drops the record and counts it
// (consentgate_receipts_dropped_total{reason="queue_full"}); the next record
// written says how many in lost, so the chain shows the loss. Buffered
// records are written and fsynced every Options.FlushInterval (and when 256
// KiB are buffered, at rotation and at Close): a crash (SIGKILL, OOM, power
// loss after the last fsync) loses at most the records of the last flush
// interval and those still queued. On the next start a torn last line is
// cut off, the start record says so (truncated_bytes, clean false) and the
// chain goes on from the last whole record. Close drains the queue, writes
// a last tally and a stop record, and syncs. A write error keeps the
// records buffered and retries at the next flush (the file cut back to its
// last whole line); past 16 MiB they are dropped and counted, which Verify
// then reports as deleted records.
package receipt
