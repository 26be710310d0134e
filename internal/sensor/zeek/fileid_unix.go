//go:build unix

package zeek

import (
	"os"
	"syscall"
)

// fileID returns the device and inode of a file, which survive a rename.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // int32 on some systems
	}
	return 0, 0
}
