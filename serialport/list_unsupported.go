//go:build !linux && !windows && !darwin && !freebsd && !openbsd && !netbsd && !dragonfly

package serialport

import (
	"fmt"
	"runtime"

	"github.com/go-multiserver/multiserver/stack"
)

// List is not implemented on this system: it returns an error wrapping
// stack.ErrNotSupported. See the Linux documentation of List.
func List() ([]PortInfo, error) {
	return nil, fmt.Errorf("%w: listing serial ports on %s", stack.ErrNotSupported, runtime.GOOS)
}
