//go:build linux && !ppc64 && !ppc64le

package port

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and then the port on its slave, as a
// user would open a UART. The returned slave file is the test's own
// descriptor on the same tty, for reading its termios.
func openPTY(t *testing.T, baud int) (p Port, master, slave *os.File) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { master.Close(); slave.Close() })
	p, err = Open(slave.Name(), baud)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if p.Name() != slave.Name() {
		t.Errorf("Name() = %q, want %q", p.Name(), slave.Name())
	}
	return p, master, slave
}

// countingLine counts raw reads, so a test can tell that read timeouts
// really happened underneath a blocked Read.
type countingLine struct {
	line
	reads atomic.Int64
}

func (l *countingLine) Read(b []byte) (int, error) {
	l.reads.Add(1)
	return l.line.Read(b)
}

func countReads(p Port) *countingLine {
	c := p.(*conn)
	l := &countingLine{line: c.line}
	c.line = l
	return l
}

// waitReads waits until at least n raw reads have started.
func waitReads(t *testing.T, l *countingLine, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); l.reads.Load() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d raw reads after 5s, want %d", l.reads.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func termios(t *testing.T, f *os.File) *unix.Termios {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var tio *unix.Termios
	if cerr := rc.Control(func(fd uintptr) { tio, err = unix.IoctlGetTermios(int(fd), unix.TCGETS2) }); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

func TestPTYRawBothWays(t *testing.T) {
	p, master, _ := openPTY(t, 115200)
	want := allBytes()

	if _, err := master.Write(want); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, p, len(want)); !bytes.Equal(got, want) {
		t.Errorf("port read %q, want %q", got, want)
	}

	if n, err := p.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	// Echo of what the master wrote, or output processing (\n to \r\n),
	// would show up here.
	done := make(chan []byte, 1)
	go func() {
		got := make([]byte, len(want))
		n, _ := io.ReadFull(master, got)
		done <- got[:n]
	}()
	select {
	case got := <-done:
		if !bytes.Equal(got, want) {
			t.Errorf("master read %q, want %q", got, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("master got too few bytes within 2s")
	}
}

func TestPTYRawTermios(t *testing.T) {
	_, _, slave := openPTY(t, 115200)
	tio := termios(t, slave)
	if f := tio.Lflag & (unix.ICANON | unix.ECHO | unix.ECHONL | unix.ISIG | unix.IEXTEN); f != 0 {
		t.Errorf("lflag %#x still set", f)
	}
	if tio.Oflag&unix.OPOST != 0 {
		t.Error("OPOST still set")
	}
	if f := tio.Iflag & (unix.ICRNL | unix.INLCR | unix.IGNCR | unix.IXON | unix.IXOFF | unix.ISTRIP); f != 0 {
		t.Errorf("iflag %#x still set", f)
	}
	if tio.Cflag&unix.CSIZE != unix.CS8 || tio.Cflag&(unix.PARENB|unix.CSTOPB|unix.CRTSCTS) != 0 {
		t.Errorf("cflag %#x is not 8N1 without flow control", tio.Cflag)
	}
	if tio.Cc[unix.VMIN] != 0 || tio.Cc[unix.VTIME] != 1 {
		t.Errorf("VMIN %d VTIME %d, want 0 and 1 (a 100 ms read timeout)", tio.Cc[unix.VMIN], tio.Cc[unix.VTIME])
	}
}

func TestPTYQuietLineBlocks(t *testing.T) {
	p, master, _ := openPTY(t, 115200)
	l := countReads(p)
	b := make([]byte, 16)
	ch := readAsync(p, b)
	waitReads(t, l, 4) // three read timeouts have come and gone
	select {
	case r := <-ch:
		t.Fatalf("Read on a quiet line returned %d, %v", r.n, r.err)
	default:
	}
	if _, err := master.Write([]byte("ready\r\n")); err != nil {
		t.Fatal(err)
	}
	r := await(t, ch, "after the master wrote")
	if r.err != nil || string(b[:r.n]) != "ready\r\n" {
		t.Errorf("Read = %d, %v (%q), want ready\\r\\n", r.n, r.err, b[:r.n])
	}
}

func TestPTYCloseUnblocksRead(t *testing.T) {
	p, _, _ := openPTY(t, 115200)
	l := countReads(p)
	ch := readAsync(p, make([]byte, 16))
	waitReads(t, l, 2) // blocked in the line, past one timeout
	if err := p.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if r := await(t, ch, "after Close"); r.n != 0 || r.err != ErrClosed {
		t.Errorf("Read = %d, %v; want ErrClosed", r.n, r.err)
	}
	if err := p.SetBaud(9600); err != ErrClosed {
		t.Errorf("SetBaud after Close = %v, want ErrClosed", err)
	}
	if _, err := p.Write([]byte("AT\r\n")); err != ErrClosed {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}

func TestPTYHangupIsError(t *testing.T) {
	// The kernel reports a hang-up differently to a read that is waiting
	// when it happens and to reads that start after it.
	for _, pending := range []bool{true, false} {
		p, master, slave := openPTY(t, 115200)
		l := countReads(p)
		b := make([]byte, 16)
		var ch <-chan readRet
		if pending {
			ch = readAsync(p, b)
			waitReads(t, l, 1)
		}
		master.Close() // the line hangs up, as when a USB adapter is unplugged

		for i := range 3 {
			if !pending || i > 0 {
				ch = readAsync(p, b)
			}
			r := await(t, ch, "after hang-up")
			if r.n != 0 || !errors.Is(r.err, syscall.EIO) || errors.Is(r.err, ErrClosed) {
				t.Fatalf("pending=%v: Read %d = %d, %v; want an EIO error, not ErrClosed", pending, i, r.n, r.err)
			}
			if want := "port: read " + slave.Name() + ": input/output error"; r.err.Error() != want {
				t.Errorf("pending=%v: error %q, want %q", pending, r.err, want)
			}
		}
		if _, err := p.Write([]byte("AT\r\n")); !errors.Is(err, syscall.EIO) {
			t.Errorf("pending=%v: Write after hang-up = %v, want EIO", pending, err)
		}
		if err := p.SetBaud(9600); !errors.Is(err, syscall.EIO) {
			t.Errorf("pending=%v: SetBaud after hang-up = %v, want EIO", pending, err)
		}
		if err := p.Close(); err != nil {
			t.Errorf("pending=%v: Close after hang-up = %v", pending, err)
		}
	}
}

func TestPTYSetBaud(t *testing.T) {
	p, _, slave := openPTY(t, 115200)
	check := func(want uint32) {
		t.Helper()
		tio := termios(t, slave)
		if tio.Ospeed != want || tio.Ispeed != want {
			t.Errorf("speed out %d in %d, want %d", tio.Ospeed, tio.Ispeed, want)
		}
		if tio.Lflag&unix.ICANON != 0 || tio.Cc[unix.VTIME] != 1 {
			t.Errorf("SetBaud changed other settings: lflag %#x VTIME %d", tio.Lflag, tio.Cc[unix.VTIME])
		}
	}
	check(115200)
	for _, baud := range []int{921600, 2000000, 250000, 74880, 115200} {
		if err := p.SetBaud(baud); err != nil {
			t.Fatalf("SetBaud(%d) = %v", baud, err)
		}
		check(uint32(baud))
	}
	for _, baud := range []int{0, -9600} {
		if err := p.SetBaud(baud); err == nil {
			t.Errorf("SetBaud(%d) succeeded", baud)
		}
	}
	check(115200)
}

func TestOpenNonstandardRate(t *testing.T) {
	_, _, slave := openPTY(t, 74880) // the ESP8266 boot ROM's rate; tarm/serial has no entry for it
	if tio := termios(t, slave); tio.Ospeed != 74880 || tio.Ispeed != 74880 {
		t.Errorf("speed out %d in %d, want 74880", tio.Ospeed, tio.Ispeed)
	}
}

func TestOpenDeviceErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "notatty")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, slave := openPTY(t, 115200)
	tests := []struct {
		name string
		baud int
		want error // nil: any error
	}{
		{filepath.Join(dir, "ttyUSB9"), 115200, syscall.ENOENT},
		{regular, 115200, syscall.ENOTTY},
		{slave.Name(), 0, nil},
		{slave.Name(), -1, nil},
	}
	for _, tt := range tests {
		p, err := Open(tt.name, tt.baud)
		if err == nil {
			p.Close()
			t.Errorf("Open(%q, %d) succeeded", tt.name, tt.baud)
			continue
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Open(%q, %d) = %v, want %v", tt.name, tt.baud, err, tt.want)
		}
		if !strings.HasPrefix(err.Error(), "port: open "+tt.name+": ") {
			t.Errorf("Open(%q, %d) error %q does not name the port", tt.name, tt.baud, err)
		}
	}
}

func TestRateClose(t *testing.T) {
	tests := []struct {
		want int
		got  uint32
		ok   bool
	}{
		{115200, 115200, true},
		{921600, 923076, true}, // a divisor's rounding
		{115200, 117504, true}, // exactly 2% fast
		{115200, 112896, true}, // exactly 2% slow
		{115200, 117505, false},
		{115200, 112895, false},
		{2000000, 9600, false}, // the driver fell back
		{4000000, 0, false},
	}
	for _, tt := range tests {
		if got := rateClose(tt.want, tt.got); got != tt.ok {
			t.Errorf("rateClose(%d, %d) = %v, want %v", tt.want, tt.got, got, tt.ok)
		}
	}
}
