package port

import (
	"net"
	"time"
)

// dialTimeout bounds connecting to a TCP serial bridge.
const dialTimeout = 5 * time.Second

// tcpLine is a TCP serial bridge (ser2net, esp-link). The bridge owns the
// UART's settings, so setBaud does nothing.
type tcpLine struct{ net.Conn }

func (tcpLine) setBaud(int) error { return nil }

// dialTCP connects to a bridge at addr ("host:port").
func dialTCP(addr string) (tcpLine, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return tcpLine{}, err
	}
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return tcpLine{}, err
	}
	return tcpLine{c}, nil
}
