//go:build windows

package keyquota

import (
	"os"

	"golang.org/x/sys/windows"
)

// lock takes f's exclusive lock (LockFileEx on its first byte range),
// waiting for other holders.
func lock(f *os.File) error {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol)
}

func unlock(f *os.File) {
	var ol windows.Overlapped
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
