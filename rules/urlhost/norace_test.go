//go:build !race

package urlhost

const raceEnabled = false
