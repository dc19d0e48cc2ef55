//go:build !unix

package receipt

import "os"

// lockDir opens the lock file; without flock(2) it does not lock.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
}

func unlockDir(f *os.File) {
	if f != nil {
		f.Close()
	}
}

func syncDir(string) {}
