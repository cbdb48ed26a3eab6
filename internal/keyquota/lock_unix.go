//go:build unix

package keyquota

import (
	"os"

	"golang.org/x/sys/unix"
)

// lock takes f's exclusive lock (flock), waiting for other holders.
func lock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			return err
		}
	}
}

func unlock(f *os.File) { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }
