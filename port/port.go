// Package port opens the line to the modem: a serial device (a UART, a USB
// adapter or a pty), a TCP serial bridge such as ser2net or esp-link, or an
// in-process stream such as the emulator's host end.
//
// Every kind of line is read through one classifier, so a read timeout is
// never mistaken for data or for the end of the line, and a line that has
// really failed is never retried forever.
package port

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
)

// Port is an open modem line.
//
// Read blocks until at least one byte arrives, the port is closed (it then
// returns ErrClosed) or the line fails (any other error). It never returns
// (0, nil) for a non-empty buffer and never reports a read timeout as the
// end of the line. Write writes all of its buffer or returns an error.
//
// Close makes a pending Read return ErrClosed. On a serial device that takes
// up to one read timeout (100 ms), and Close waits for it; on a TCP bridge it
// is immediate; on a wrapped stream it is as prompt as that stream's Close.
//
// Read and Write may run at the same time as each other, SetBaud and Close,
// but Read must not run concurrently with Read, nor Write with Write.
type Port interface {
	io.ReadWriteCloser

	// SetBaud changes the line rate at once, so call it when no output is
	// queued (after the modem has answered AT+UART_CUR). On a TCP bridge it
	// does nothing and returns nil; on a wrapped stream it calls the
	// stream's SetBaud(int) error if it has one.
	SetBaud(baud int) error

	// Name returns the name the port was opened or wrapped with.
	Name() string
}

// ErrClosed is returned by Read, Write and SetBaud once Close has been
// called, and by a second Close.
var ErrClosed = errors.New("port: closed")

// Open opens the line the user names:
//
//   - "tcp://host:port": a TCP serial bridge; baud is ignored.
//   - anything else: a serial device path such as /dev/ttyAMA0, /dev/serial0
//     or a pty slave, opened raw, 8N1, at baud (any rate the driver takes,
//     not only the standard ones). Serial devices are supported on Linux.
func Open(name string, baud int) (Port, error) {
	if addr, ok := strings.CutPrefix(name, "tcp://"); ok {
		l, err := dialTCP(addr)
		if err != nil {
			return nil, fmt.Errorf("port: open %s: %w", name, cause(err))
		}
		return &conn{name: name, line: l}, nil
	}
	if scheme, _, ok := strings.Cut(name, "://"); ok {
		return nil, fmt.Errorf("port: open %s: unsupported scheme %q (want tcp:// or a device path)", name, scheme)
	}
	if baud <= 0 {
		return nil, fmt.Errorf("port: open %s: invalid baud rate %d", name, baud)
	}
	l, err := openDevice(name, baud)
	if err != nil {
		return nil, fmt.Errorf("port: open %s: %w", name, cause(err))
	}
	// tarm/serial reports a read timeout as (0, io.EOF).
	return &conn{name: name, line: l, eofTimeout: true}, nil
}

// Wrap adapts an in-process stream, such as the emulator's host end, to
// Port. End of stream from rwc is reported by Read as an error, as the
// modem's line has no orderly end. SetBaud calls rwc's SetBaud(int) error
// if it has one and otherwise does nothing.
func Wrap(rwc io.ReadWriteCloser, name string) Port {
	return &conn{name: name, line: wrapped{rwc}}
}

// line is a raw connection as conn sees it: its reads are classified by
// classify, and it knows how to change its rate.
type line interface {
	io.ReadWriteCloser
	setBaud(baud int) error
}

// wrapped is the line of a Port made by Wrap.
type wrapped struct{ io.ReadWriteCloser }

func (w wrapped) setBaud(baud int) error {
	if s, ok := w.ReadWriteCloser.(interface{ SetBaud(int) error }); ok {
		return s.SetBaud(baud)
	}
	return nil
}

// conn implements Port over any line.
type conn struct {
	name       string
	line       line
	eofTimeout bool // line reports a read timeout as (0, io.EOF)
	closed     atomic.Bool

	// pending is a line failure that came together with data; the next
	// Read returns it. Only Read touches it.
	pending error
}

func (c *conn) Name() string { return c.name }

func (c *conn) Read(b []byte) (int, error) {
	if c.closed.Load() {
		return 0, ErrClosed
	}
	if err := c.pending; err != nil {
		c.pending = nil
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	for {
		n, err := c.line.Read(b)
		switch classify(n, err, c.closed.Load(), c.eofTimeout) {
		case readData:
			if err != nil && classify(0, err, c.closed.Load(), c.eofTimeout) == readFailed {
				c.pending = c.fail("read", err)
			}
			return n, nil
		case readTimeout:
			continue
		case readClosed:
			return 0, ErrClosed
		case readFailed:
			return 0, c.fail("read", err)
		}
	}
}

func (c *conn) Write(b []byte) (int, error) {
	if c.closed.Load() {
		return 0, ErrClosed
	}
	n := 0
	for n < len(b) {
		m, err := c.line.Write(b[n:])
		n += m
		switch {
		case err != nil && c.closed.Load():
			return n, ErrClosed
		case err != nil:
			return n, c.fail("write", err)
		case m == 0:
			// A writer that makes no progress and reports nothing would
			// otherwise be retried forever.
			return n, c.fail("write", io.ErrShortWrite)
		}
	}
	return n, nil
}

func (c *conn) SetBaud(baud int) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := c.line.setBaud(baud); err != nil {
		if c.closed.Load() {
			return ErrClosed
		}
		return fmt.Errorf("port: set %s to %d baud: %w", c.name, baud, cause(err))
	}
	return nil
}

func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return ErrClosed
	}
	if err := c.line.Close(); err != nil {
		return fmt.Errorf("port: close %s: %w", c.name, cause(err))
	}
	return nil
}

// fail turns a line failure into the error a caller sees, such as
// "port: read /dev/ttyUSB0: input/output error".
func (c *conn) fail(op string, err error) error {
	err = cause(err)
	if errors.Is(err, io.EOF) {
		// The modem's line has no orderly end: the far side went away.
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("port: %s %s: %w", op, c.name, err)
}

// cause strips the operation and address that os and net errors repeat,
// leaving the reason (an errno, io.EOF, ...).
func cause(err error) error {
	for {
		switch e := err.(type) {
		case *os.PathError:
			err = e.Err
		case *net.OpError:
			err = e.Err
		case *os.SyscallError:
			err = e.Err
		default:
			return err
		}
	}
}

// readResult is what one raw read result means to Read.
type readResult uint8

const (
	readData    readResult = iota // n > 0: return the bytes now
	readTimeout                   // nothing arrived in time: read again
	readClosed                    // Close was called: return ErrClosed
	readFailed                    // the line failed: return the error
)

var readResultNames = [...]string{"data", "timeout", "closed", "failed"}

func (r readResult) String() string {
	if int(r) < len(readResultNames) {
		return readResultNames[r]
	}
	return "unknown"
}

// classify is the one place that interprets a raw read result (n, err).
// closed reports whether Close has been called; eofTimeout whether the line
// reports a read timeout as (0, io.EOF), as tarm/serial does on Linux.
//
//   - n > 0, whatever err: data. (Read keeps err for the next call if
//     classify(0, err, ...) calls it a failure.)
//   - n == 0 after Close, whatever err: closed. This covers os.ErrClosed,
//     net.ErrClosed and EBADF from the closed descriptor, and a read
//     timeout that ends a pending read.
//   - (0, nil): a timeout (some libraries report timeouts this way).
//   - (0, io.EOF): a timeout if eofTimeout, else a failure: the far end
//     went away.
//   - (0, any other error): a failure. A serial device's hang-up (EIO), a
//     closed error while the port is open, and deadline errors all land
//     here; retrying them could spin forever.
func classify(n int, err error, closed, eofTimeout bool) readResult {
	switch {
	case n > 0:
		return readData
	case closed:
		return readClosed
	case err == nil:
		return readTimeout
	case eofTimeout && errors.Is(err, io.EOF):
		return readTimeout
	default:
		return readFailed
	}
}
