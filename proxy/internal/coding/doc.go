// Package coding owns content coding for the proxy: which codings a client
// takes, what the proxy asks an upstream for, how a body is decoded and in
// which coding a body the proxy wrote goes out. It is the one place that
// reads Accept-Encoding and Content-Encoding.
//
// # Contract
//
//   - Accepted reads a client's Accept-Encoding (RFC 9110 §12.5.3: weights,
//     "*", "identity;q=0") into a Set. An empty or absent header takes
//     identity alone.
//   - Request gives the Accept-Encoding of an upstream request: only
//     codings the proxy can decode on that path and the client takes,
//     since a response the proxy does not change (a script, an image)
//     reaches the client as the upstream sent it. The values are constants.
//   - Set.Output gives the coding of a body the proxy wrote: gzip when the
//     upstream sent gzip and the client takes it, else identity.
//   - Decoders.Open and OpenBytes decode gzip (and x-gzip), br, zstd and
//     deflate (zlib-wrapped or raw) with pooled decoders, at most a limit
//     of decoded bytes (ErrTooLarge). Open reads up to the first decoded
//     byte before it returns: a body that does not decode as its coding
//     says, or is in a coding the proxy cannot read, fails there
//     (ErrUndecodable, ErrUnknown) with a Reader of the body as it came,
//     every byte of it, so the caller can pass it on (under the
//     fail-closed CSP) before it has sent anything. A body that breaks off
//     before its first decoded byte fails with the error of its reader:
//     the caller answers as for any upstream that broke off.
//   - Writer and Append encode in the coding Output chose, with pooled gzip
//     encoders at the fastest level.
//
// # For a response cache
//
// A rewritten page depends on the upstream's bytes, the policy and the
// coding it is sent in, Output of the client's Accepted; the client's other
// preferences do not change it. A cache stores the body in that coding with
// the coding, and on a hit sends it with Encoding.Header as
// Content-Encoding, skipping decoding, rewriting and encoding.
//
// # Failure rule
//
// Open never loses bytes: it keeps what it read (up to 256 KiB, past which
// a body is taken for what its coding says) until the first decoded byte.
// A body that fails after that fails in Read; a caller that has sent
// decoded bytes must cut the response visibly. A Reader from OpenBytes can
// always fall back to the bytes the caller holds.
//
// # Limits
//
// A Reader keeps a 32 KiB buffer for a streamed body (at most 64 KiB
// pooled) and 512 decoded bytes read ahead; zstd decoders are limited to
// the Decoders' limit of memory and decode in the caller's goroutine.
package coding
