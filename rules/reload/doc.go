// Package reload keeps the rule set a program uses and replaces it when
// its config changes: Holder (the current *rules.Set behind one atomic
// pointer), FileWatcher (polls the config file and the files it imports),
// URLWatcher and Fetch (a config served over HTTP, with If-None-Match),
// and Check, which is what consentgate check runs: the reload's own steps
// without a holder.
//
// A reload reads the config, parses it (config.ParsePartial), applies the
// program's Hooks.Override, validates and compiles it (rules.CompileFiles,
// with the files it imports read once), and runs Hooks.Verify; every
// problem of the file comes in one *config.Error. Only then is the new set
// stored, with one atomic store: a request loads the pointer once and
// never sees two sets. Unchanged bytes (of the config and of every file it
// imports) do nothing. On any error the last good set stays and the error
// says so ("keeping the last good rules"); the caller logs and counts it.
// A replaced set is closed after Holder.Grace, when the requests that
// loaded it are done; Holder.OnSwap runs per-set work (metric children,
// upstream clients) as a set becomes current, not on the next request.
//
// FileWatcher compares each file's identity, modification time and size
// every interval, so it sees a Kubernetes ConfigMap swap (a renamed
// symlink) where change notifications are unreliable. A fetched config is
// capped at 8 MiB; its relative import paths are resolved against the
// working directory.
package reload
