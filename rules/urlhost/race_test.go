//go:build race

package urlhost

const raceEnabled = true
