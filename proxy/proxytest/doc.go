// Package proxytest holds what the tests of several packages share (the
// proxy's, the command's, the deploy checks' and the browser checks'): a
// Buffer that one goroutine writes while another reads it, and the
// background goroutines of fasthttp and ristretto that goleak must ignore.
// Only tests and the browser measure (proxy/browsertest) import it.
package proxytest
