// Package chrome holds what the browser checks of consentgate share to run
// headless Chromium on loopback: the command-line flags of a quiet,
// reproducible browser (Flags) and the sink that stands in for every host but loopback (Sink), so that no
// connection leaves the machine and every one, a preconnect included, is
// seen.
package chrome
