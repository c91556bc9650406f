package sim

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func openSlave(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return f
}

// termios reads a terminal's settings without putting the file into
// blocking mode.
func termios(t testing.TB, f *os.File) *unix.Termios {
	t.Helper()
	sc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var tio *unix.Termios
	var ierr error
	if err := sc.Control(func(fd uintptr) { tio, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS) }); err != nil || ierr != nil {
		t.Fatalf("termios: %v %v", err, ierr)
	}
	return tio
}

// setSpeed sets a terminal's rate both ways, as a host's serial code does.
func setSpeed(t testing.TB, f *os.File, baud int) {
	t.Helper()
	sc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ierr error
	err = sc.Control(func(fd uintptr) {
		var tio *unix.Termios
		if tio, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS2); ierr != nil {
			return
		}
		tio.Cflag &^= unix.CBAUD | unix.CIBAUD
		tio.Cflag |= unix.BOTHER
		tio.Ispeed, tio.Ospeed = uint32(baud), uint32(baud)
		ierr = unix.IoctlSetTermios(int(fd), unix.TCSETS2, tio)
	})
	if err != nil || ierr != nil {
		t.Fatalf("set speed %d: %v %v", baud, err, ierr)
	}
}

func TestPTY(t *testing.T) {
	for _, p := range profiles() {
		t.Run(string(p), func(t *testing.T) {
			m := newTestModem(t, Config{Profile: p, Unpaced: true, Joined: true})
			link := filepath.Join(t.TempDir(), "modem")
			slave, err := m.OpenPTY(link)
			if err != nil {
				t.Fatal(err)
			}
			if target, err := os.Readlink(link); err != nil || target != slave {
				t.Fatalf("link -> %q, %v; want %q", target, err, slave)
			}
			if _, err := m.OpenPTY(""); err == nil {
				t.Fatal("second transport accepted")
			}
			if _, err := m.Host().Write([]byte("AT\r\n")); err == nil {
				t.Fatal("Host works on a pty modem")
			}
			f := openSlave(t, link)
			tio := termios(t, f)
			if tio.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 || tio.Oflag&unix.OPOST != 0 || tio.Iflag&(unix.ICRNL|unix.IXON) != 0 {
				t.Fatalf("slave not raw: %+v", tio)
			}
			h := newHost(t, m, f)
			h.boot()
			h.expect(wifiJoined)
			h.cmd("AT\r\n", echoOf(p, "AT\r\n")+msgOK)
			h.server()
			h.cmd("AT+GMR\r\n", p.gmr()+msgOK)

			// Every byte value crosses unchanged both ways.
			all := make([]byte, 256)
			for i := range all {
				all[i] = byte(i)
			}
			c := h.dial(0)
			c.Write(all)
			if got := h.readFrames(0, 256, DefaultMaxIPD); !bytes.Equal(got, all) {
				t.Fatalf("+IPD payload differs: %q", got)
			}
			h.cmd("AT+CIPSEND=0,256\r\n", pick(p, "\r\nOK\r\n> ", "\r\nOK\r\n\r\n>"))
			h.cmd(string(all), "\r\nRecv 256 bytes\r\n"+msgSendOK)
			if got := readN(t, c, 256); !bytes.Equal(got, all) {
				t.Fatalf("client got %q", got)
			}
			h.cmd("AT+CIPCLOSE=0\r\n", "0,CLOSED\r\n"+msgOK)
			noViolations(t, m)
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("link not removed: %v", err)
			}
		})
	}
}

// A paced pty line, with the host reopening the device.
func TestPTYPaced(t *testing.T) {
	m := newTestModem(t, Config{Profile: ESPAT, Baud: 921600, Timing: Timing{Command: time.Millisecond}})
	slave, err := m.OpenPTY("")
	if err != nil {
		t.Fatal(err)
	}
	f := openSlave(t, slave)
	h := newHost(t, m, f)
	h.boot()
	h.echoOff()
	f.Close()
	<-h.exited
	// The modem keeps its end open; a new open sees the line again.
	f = openSlave(t, slave)
	h = newHost(t, m, f)
	h.cmd("AT+GMR\r\n", ESPAT.gmr()+msgOK)
	h.cmd("AT+UART_CUR=115200,8,1,0,0\r\n", msgOK)
	h.setBaud(115200)
	start := time.Now()
	h.cmd("AT+CIPMUX?\r\n", "+CIPMUX:0\r\n"+msgOK) // 12 + 18 bytes at 11520 B/s
	if d := time.Since(start); d < 2*time.Millisecond {
		t.Fatalf("30 bytes at 115200 baud in %v", d)
	}
}

func TestPTYLinkErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "file")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m := newTestModem(t, Config{Unpaced: true})
	if _, err := m.OpenPTY(plain); err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Fatalf("err = %v", err)
	}
	// An old symlink is replaced.
	old := filepath.Join(dir, "old")
	if err := os.Symlink("/nonexistent", old); err != nil {
		t.Fatal(err)
	}
	slave, err := m.OpenPTY(old)
	if err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(old); target != slave {
		t.Fatalf("link -> %q", target)
	}
}

func TestHostThenPTY(t *testing.T) {
	m := newTestModem(t, Config{Unpaced: true})
	h := m.Host()
	if m.Host() != h {
		t.Fatal("Host returned a different end")
	}
	if _, err := m.OpenPTY(""); err == nil {
		t.Fatal("OpenPTY after Host")
	}
}
