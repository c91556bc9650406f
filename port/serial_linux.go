//go:build linux && !ppc64 && !ppc64le

package port

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"syscall"
	"time"

	"github.com/tarm/serial"
	"golang.org/x/sys/unix"
)

// serialTimeout is the serial read timeout (VTIME), the shortest tarm/serial
// can set. A Read pending when Close is called notices within this long.
const serialTimeout = 100 * time.Millisecond

// device is a serial device. tarm/serial opens it, puts it in raw 8N1 mode
// and does the reads and writes. tarm/serial does not expose its file
// descriptor, so a second descriptor on the same tty, ctl, carries the
// termios2 ioctls: termios belongs to the tty, not to a descriptor.
type device struct {
	sp  *serial.Port
	ctl *os.File
	rc  syscall.RawConn // ctl's; Control keeps the descriptor from being closed under an ioctl
}

// openDevice opens the tty at name at baud.
func openDevice(name string, baud int) (*device, error) {
	// tarm/serial takes only rates that have a Bxxx constant (none for
	// 74880 or 250000, say), so open at 115200 and let setBaud, which takes
	// any rate, set the one asked for.
	sp, err := serial.OpenPort(&serial.Config{Name: name, Baud: 115200, ReadTimeout: serialTimeout})
	if err != nil {
		return nil, err
	}
	ctl, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		sp.Close()
		return nil, err
	}
	d := &device{sp: sp, ctl: ctl}
	if d.rc, err = ctl.SyscallConn(); err == nil {
		err = d.setBaud(baud)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *device) Read(b []byte) (int, error) {
	n, err := d.sp.Read(b)
	if n == 0 && errors.Is(err, io.EOF) {
		// tarm/serial returns (0, io.EOF) both when the read timeout expires
		// and, at once and on every call, after a hang-up (a pty's master
		// closed, a USB adapter unplugged). Only after a hang-up does an
		// ioctl on the tty fail (with EIO).
		if herr := d.ioctl(func(fd int) error {
			_, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
			return err
		}); herr != nil {
			return 0, herr
		}
	}
	return n, err
}

func (d *device) Write(b []byte) (int, error) { return d.sp.Write(b) }

// Close closes both descriptors. If a Read is pending, closing tarm/serial's
// descriptor waits until that Read returns, which is within serialTimeout.
func (d *device) Close() error {
	return errors.Join(d.ctl.Close(), d.sp.Close())
}

// setBaud sets the input and output rate with termios2 (BOTHER), which
// takes any rate, leaving the other settings alone. It then reads the rate
// back, because a UART driver that cannot make a rate falls back to another
// one without failing the ioctl.
func (d *device) setBaud(baud int) error {
	if baud <= 0 || uint64(baud) > math.MaxUint32 {
		return fmt.Errorf("invalid baud rate %d", baud)
	}
	return d.ioctl(func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
		if err != nil {
			return err
		}
		// CIBAUD zero: input runs at the output rate.
		t.Cflag &^= unix.CBAUD | unix.CIBAUD
		t.Cflag |= unix.BOTHER
		t.Ispeed, t.Ospeed = uint32(baud), uint32(baud)
		if err := unix.IoctlSetTermios(fd, unix.TCSETS2, t); err != nil {
			return err
		}
		if t, err = unix.IoctlGetTermios(fd, unix.TCGETS2); err != nil {
			return err
		}
		if !rateClose(baud, t.Ospeed) || !rateClose(baud, t.Ispeed) {
			return fmt.Errorf("the driver set %d baud out, %d in", t.Ospeed, t.Ispeed)
		}
		return nil
	})
}

// rateClose reports whether a rate the driver set is within 2% of the one
// asked for; a UART receiver tolerates little more.
func rateClose(want int, got uint32) bool {
	d := int64(want) - int64(got)
	return d*50 <= int64(want) && -d*50 <= int64(want)
}

// ioctl runs f on ctl's descriptor.
func (d *device) ioctl(f func(fd int) error) error {
	var ferr error
	if err := d.rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
