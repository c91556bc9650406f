package port

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestClassify(t *testing.T) {
	closedFile := &fs.PathError{Op: "read", Path: "/dev/ttyAMA0", Err: os.ErrClosed}
	eio := &fs.PathError{Op: "read", Path: "/dev/ttyAMA0", Err: syscall.EIO}
	tests := []struct {
		name       string
		n          int
		err        error
		closed     bool
		eofTimeout bool
		want       readResult
	}{
		{"data", 5, nil, false, true, readData},
		{"data with EOF", 5, io.EOF, false, false, readData},
		{"data with EOF from tarm", 5, io.EOF, false, true, readData},
		{"data with EIO", 1, eio, false, true, readData},
		{"data after Close", 3, nil, true, true, readData},

		{"tarm timeout", 0, io.EOF, false, true, readTimeout},
		{"tarm timeout after Close", 0, io.EOF, true, true, readClosed},
		{"zero and nil is a timeout", 0, nil, false, false, readTimeout},
		{"zero and nil after Close", 0, nil, true, false, readClosed},

		{"closed file after Close", 0, closedFile, true, true, readClosed},
		{"EBADF after Close", 0, syscall.EBADF, true, true, readClosed},
		{"net.ErrClosed after Close", 0, fmt.Errorf("read tcp: %w", net.ErrClosed), true, false, readClosed},
		{"closed pipe after Close", 0, io.ErrClosedPipe, true, false, readClosed},
		{"EIO after Close", 0, eio, true, true, readClosed},

		{"EOF where EOF is an end", 0, io.EOF, false, false, readFailed},
		{"hang-up EIO", 0, eio, false, true, readFailed},
		{"bare EIO", 0, syscall.EIO, false, true, readFailed},
		{"connection reset", 0, syscall.ECONNRESET, false, false, readFailed},
		{"closed file not closed by us", 0, closedFile, false, true, readFailed},
		{"EBADF not after Close", 0, syscall.EBADF, false, true, readFailed},
		{"deadline exceeded", 0, os.ErrDeadlineExceeded, false, false, readFailed},
		{"unexpected EOF from tarm", 0, io.ErrUnexpectedEOF, false, true, readFailed},
		{"other error", 0, errors.New("boom"), false, true, readFailed},
	}
	for _, tt := range tests {
		if got := classify(tt.n, tt.err, tt.closed, tt.eofTimeout); got != tt.want {
			t.Errorf("%s: classify(%d, %v, closed=%v, eofTimeout=%v) = %v, want %v",
				tt.name, tt.n, tt.err, tt.closed, tt.eofTimeout, got, tt.want)
		}
	}
}

func TestCause(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{&fs.PathError{Op: "read", Path: "/dev/ttyUSB0", Err: syscall.EIO}, syscall.EIO},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, syscall.ECONNRESET},
		{io.EOF, io.EOF},
	}
	for _, tt := range tests {
		if got := cause(tt.err); got != tt.want {
			t.Errorf("cause(%v) = %#v, want %#v", tt.err, got, tt.want)
		}
	}
}
