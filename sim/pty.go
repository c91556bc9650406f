package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyTransport is the serial line as a pseudo-terminal: the emulator drives
// the master, the host opens the slave like a serial device.
type ptyTransport struct {
	m       *Modem
	master  *os.File // non-blocking, so Close unblocks Read and Write
	slave   *os.File // held open so the master never sees a hang-up
	slaveFd int
	link    string
	reads   chan ptyRead
	once    sync.Once
	err     error
}

// ptyRead is what the host wrote, as read from the master.
type ptyRead struct {
	b    []byte
	at   time.Time
	know int64
	baud int // the host's output rate then
}

// OpenPTY makes the serial line a pseudo-terminal and returns the slave's
// path. The slave is in raw mode (no echo, no CR/LF translation) at
// Config.Baud. The host may set another rate on it, as on a serial device:
// while that rate differs from the modem's, bytes cross the line garbled
// both ways (see Host). If link is
// not empty a symlink to the slave is created there (replacing an old
// symlink) and removed on Close. Only one transport is used per Modem: it
// fails after Host, and Host fails after it.
func (m *Modem) OpenPTY(link string) (slavePath string, err error) {
	m.tmu.Lock()
	defer m.tmu.Unlock()
	if m.attached {
		return "", errors.New("sim: the modem already has a serial transport")
	}
	master, slave, err := pty.Open()
	if err != nil {
		return "", fmt.Errorf("sim: open pty: %w", err)
	}
	defer func() {
		if err != nil {
			_ = slave.Close()
		}
	}()
	// pty.Open left the master in blocking mode; use a non-blocking
	// duplicate so the runtime poller can interrupt it.
	fd, err := unix.FcntlInt(master.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	_ = master.Close()
	if err != nil {
		return "", fmt.Errorf("sim: dup pty master: %w", err)
	}
	if err = unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return "", fmt.Errorf("sim: pty master: %w", err)
	}
	pm := os.NewFile(uintptr(fd), "/dev/ptmx")
	defer func() {
		if err != nil {
			_ = pm.Close()
		}
	}()
	if err = makeRaw(int(slave.Fd()), m.cfg.Baud); err != nil {
		return "", fmt.Errorf("sim: raw mode on %s: %w", slave.Name(), err)
	}
	if link != "" {
		if fi, lerr := os.Lstat(link); lerr == nil {
			if fi.Mode()&fs.ModeSymlink == 0 {
				return "", fmt.Errorf("sim: %s exists and is not a symlink", link)
			}
			if err = os.Remove(link); err != nil {
				return "", fmt.Errorf("sim: %w", err)
			}
		}
		if err = os.Symlink(slave.Name(), link); err != nil {
			return "", fmt.Errorf("sim: %w", err)
		}
	}
	p := &ptyTransport{m: m, master: pm, slave: slave, slaveFd: int(slave.Fd()), link: link, reads: make(chan ptyRead, 64)}
	m.pty = p
	m.attach(p)
	m.wg.Add(2)
	go p.readLoop()
	go p.paceLoop()
	return slave.Name(), nil
}

// makeRaw puts a terminal in raw 8N1 mode, like cfmakeraw, at baud.
func makeRaw(fd int, baud int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
	if err != nil {
		return err
	}
	t.Cflag &^= unix.CBAUD | unix.CIBAUD
	t.Cflag |= unix.BOTHER
	t.Ispeed, t.Ospeed = uint32(baud), uint32(baud)
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR |
		unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS2, t)
}

// hostBaud is the slave's input rate: the rate the host receives at.
func (p *ptyTransport) hostBaud() int {
	in, _ := p.speeds()
	return in
}

// speeds reads the rates the host set on the slave (0, 0 if unknown).
func (p *ptyTransport) speeds() (in, out int) {
	t, err := unix.IoctlGetTermios(p.slaveFd, unix.TCGETS2)
	if err != nil {
		return 0, 0
	}
	in, out = int(t.Ispeed), int(t.Ospeed)
	if in == 0 {
		in = out // B0 input: the output rate
	}
	return in, out
}

func (p *ptyTransport) deliver(b []byte) error {
	_, err := p.master.Write(b)
	return err
}

// known estimates how many modem bytes the host has read: those sent
// minus those still waiting in the slave's input queue.
func (p *ptyTransport) known() int64 {
	// A piece written to the master but not yet counted may already have
	// been read: wait (bounded in time, not in turns: the writer may sit
	// in its system call while nothing else runs) for the count to catch
	// up.
	for end := time.Now().Add(100 * time.Millisecond); p.m.line.delivering.Load() && time.Now().Before(end); {
		runtime.Gosched()
	}
	sent := p.m.line.sent.Load()
	inq, err := unix.IoctlGetInt(p.slaveFd, unix.TIOCINQ)
	if err != nil {
		return sent
	}
	return sent - int64(inq)
}

// readLoop takes what the host writes on the slave as soon as it is there,
// noting what the host could know then; paceLoop carries it to the chip.
func (p *ptyTransport) readLoop() {
	defer p.m.wg.Done()
	for {
		buf := make([]byte, 4096)
		n, err := p.master.Read(buf)
		if n > 0 {
			_, out := p.speeds()
			select {
			case p.reads <- ptyRead{b: buf[:n], at: time.Now(), know: p.known(), baud: out}:
			case <-p.m.done:
				return
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			select {
			case <-p.m.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func (p *ptyTransport) paceLoop() {
	defer p.m.wg.Done()
	for {
		select {
		case r := <-p.reads:
			if _, err := p.m.line.fromHost(r.b, r.at, r.know, r.baud, nil); err != nil {
				return
			}
		case <-p.m.done:
			return
		}
	}
}

func (p *ptyTransport) close() error {
	p.once.Do(func() {
		p.err = p.master.Close()
		if err := p.slave.Close(); p.err == nil {
			p.err = err
		}
		if p.link != "" {
			if err := os.Remove(p.link); err != nil && !errors.Is(err, fs.ErrNotExist) && p.err == nil {
				p.err = err
			}
		}
	})
	return p.err
}
