package sim

import (
	"syscall"
	"time"
)

// osSleep blocks the calling thread for d with the kernel's high-resolution
// sleep, which ends within its timer slack (50 µs by default).
func osSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil) // an interrupted sleep just ends early
}
