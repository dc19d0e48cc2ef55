// Package config is the consentgate configuration file: its YAML types as
// written (Config, Site, Vendor, Import, ...), Parse, and Validate. The
// file becomes rules in three steps (parse → validate → compile), each
// reporting every problem it finds with file, line and field path:
//
//   - Parse decodes the YAML with unknown keys and values of the wrong
//     type as problems (with a "did you mean" hint for a misspelt key), and
//     records the line of every field. ParsePartial also returns what did
//     decode, so the later steps report the rest of the file in the same
//     run; Error.Merge drops their problems that only follow from a parse
//     problem.
//   - Validate checks what the file alone shows: host names and their
//     syntax, upstream URLs, cookie and header names, paths, texts shown to
//     visitors, account keys, the registry, receipts, import entries, vendor
//     entries (Vendor.Check: never a public suffix). It neither changes the
//     config nor reads a file.
//   - rules.Compile runs Validate and checks what needs the catalogue or
//     the files the config names: the names of categories, actions and
//     guard modes, vendor ids, hosts claimed twice, the imported lists, the
//     account secrets and cookie tables. It returns an immutable *rules.Set
//     or one *Error with every problem of both steps.
//
// Nothing here changes a Config once it is parsed; a Config built in code
// (Default) has no lines, and its problems have line 0. docs/rules.md
// documents every key.
package config
