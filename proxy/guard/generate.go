package guard

//go:generate go run ./internal/minify
