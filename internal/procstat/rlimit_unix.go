//go:build unix

package procstat

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises RLIMIT_NOFILE so that need descriptors fit: the
// soft limit up to the hard one, and the hard one too where the process
// may (root). Go already raises the soft limit at startup on some
// systems; this makes the requirement explicit and the failure clear.
func RaiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	want := uint64(need)
	if uint64(lim.Cur) >= want {
		return nil
	}
	if uint64(lim.Max) < want {
		raised := lim
		set(&raised.Cur, want)
		set(&raised.Max, want)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			return nil
		}
		return fmt.Errorf("need %d file descriptors, RLIMIT_NOFILE hard limit is %d (raise it with ulimit -Hn)", need, lim.Max)
	}
	set(&lim.Cur, want)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit NOFILE to %d: %w", want, err)
	}
	return nil
}

// set stores v in an Rlimit field, which is uint64 on most systems and
// int64 on some (FreeBSD).
func set[T int64 | uint64](f *T, v uint64) { *f = T(v) }
