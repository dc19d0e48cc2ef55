// Package rewrite is the streaming HTML rewriter: it removes or neutralises
// the elements of a page that load a denied third party.
package rewrite
