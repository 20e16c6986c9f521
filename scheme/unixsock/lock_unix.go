//go:build unix

package unixsock

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockPath serialises stale-socket cleanup between processes: without it
// two listeners starting at once could each judge the file stale and remove
// the other's fresh socket. The lock file is left in place (removing it
// would reopen the race).
func lockPath(p string) (func(), error) {
	f, err := os.OpenFile(p+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
