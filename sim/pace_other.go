//go:build !linux

package sim

import "time"

// osSleep sleeps for d with the runtime's sleep; its precision is the
// runtime poller's on this system (the millisecond rounding is Linux's).
func osSleep(d time.Duration) { time.Sleep(d) }
