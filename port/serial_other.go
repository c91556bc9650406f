//go:build !linux || ppc64 || ppc64le

package port

import (
	"errors"
	"fmt"
	"runtime"
)

// openDevice fails: the serial device code uses Linux's termios2 ioctls.
func openDevice(string, int) (line, error) {
	return nil, fmt.Errorf("serial devices are not supported on %s/%s: %w",
		runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)
}
