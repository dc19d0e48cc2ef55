package proxytest

import "go.uber.org/goleak"

// The Ignore functions name the goroutines that goleak must not count as
// a test's leaks, for the TestMain of the packages that check for them:
// the background goroutines of libraries that live for the process or end
// on their own schedule.
//
// IgnoreFastHTTP ignores fasthttp's background goroutines: the upstream client's
// idle-connection and address cleaners, the server date updater and a
// stopped worker pool's last sleep.
func IgnoreFastHTTP() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	}
}

// IgnoreRistretto ignores the workers of ristretto caches, those of the rules
// package's process-wide lookup caches among them (rules.CloseCaches ends
// them where a package can).
func IgnoreRistretto() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*Cache[...]).processItems"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*defaultPolicy[...]).processItems"),
	}
}
