package fsm

import (
	"bytes"
	"strconv"
	"time"

	"github.com/espgate/espgate/parser"
)

// Cmd names an AT command the machine issues; it is free to log and to use
// as a metric label.
type Cmd uint8

const (
	CmdNone     Cmd = iota
	CmdProbe        // AT
	CmdReset        // AT+RST
	CmdEcho         // ATE0
	CmdVersion      // AT+GMR
	CmdMode         // AT+CWMODE(_CUR)=1
	CmdJoin         // AT+CWJAP(_CUR)=...
	CmdAddress      // AT+CIFSR
	CmdMux          // AT+CIPMUX=1
	CmdMaxConn      // AT+CIPSERVERMAXCONN=5
	CmdServer       // AT+CIPSERVER=1,<port>
	CmdServerTO     // AT+CIPSTO=<s>
	CmdDInfo        // AT+CIPDINFO=1
	CmdSend         // AT+CIPSEND=<id>,<len>
	CmdClose        // AT+CIPCLOSE=<id>
	numCmds
)

var cmdNames = [numCmds]string{"none", "AT", "AT+RST", "ATE0", "AT+GMR", "AT+CWMODE", "AT+CWJAP",
	"AT+CIFSR", "AT+CIPMUX", "AT+CIPSERVERMAXCONN", "AT+CIPSERVER", "AT+CIPSTO", "AT+CIPDINFO",
	"AT+CIPSEND", "AT+CIPCLOSE"}

func (c Cmd) String() string {
	if c < numCmds {
		return cmdNames[c]
	}
	return "invalid"
}

// Cmds lists every command the machine issues, for pre-resolving metrics.
func Cmds() []Cmd {
	c := make([]Cmd, 0, numCmds-1)
	for i := CmdProbe; i < numCmds; i++ {
		c = append(c, i)
	}
	return c
}

// step is a stage of bring-up; each issues one command.
type step uint8

const (
	stepProbe step = iota
	stepReset
	stepEcho
	stepVersion
	stepMode
	stepJoin
	stepAddress
	stepMux
	stepMaxConn
	stepServer
	stepServerTO
	stepDInfo
	stepServing
)

// bringup issues the command of the current step.
func (m *Machine) bringup(now time.Time) {
	b := m.cmdBuf[:0]
	switch m.step {
	case stepProbe:
		// After three silent probes the modem may be collecting a payload
		// for a send it never finished: complete it with harmless filler.
		if m.stepTries > 0 && m.stepTries%3 == 0 {
			m.queueOut(filler[:])
		}
		m.issue(now, CmdProbe, -1, append(b, "AT\r\n"...))
	case stepReset:
		m.issue(now, CmdReset, -1, append(b, "AT+RST\r\n"...))
	case stepEcho:
		m.issue(now, CmdEcho, -1, append(b, "ATE0\r\n"...))
	case stepVersion:
		m.verLen = 0
		m.issue(now, CmdVersion, -1, append(b, "AT+GMR\r\n"...))
	case stepMode:
		if m.gen == GenNonOS {
			b = append(b, "AT+CWMODE_CUR=1\r\n"...)
		} else {
			b = append(b, "AT+CWMODE=1\r\n"...)
		}
		m.issue(now, CmdMode, -1, b)
	case stepJoin:
		if m.gen == GenNonOS {
			b = append(b, "AT+CWJAP_CUR=\""...)
		} else {
			b = append(b, "AT+CWJAP=\""...)
		}
		b = appendEscaped(b, m.cfg.SSID)
		b = append(b, "\",\""...)
		b = appendEscaped(b, m.cfg.Password)
		m.joinCode = 0
		m.issue(now, CmdJoin, -1, append(b, "\"\r\n"...))
	case stepAddress:
		m.ipLen = 0
		m.issue(now, CmdAddress, -1, append(b, "AT+CIFSR\r\n"...))
	case stepMux:
		m.issue(now, CmdMux, -1, append(b, "AT+CIPMUX=1\r\n"...))
	case stepMaxConn:
		b = strconv.AppendInt(append(b, "AT+CIPSERVERMAXCONN="...), MaxLinks, 10)
		m.issue(now, CmdMaxConn, -1, append(b, "\r\n"...))
	case stepServer:
		b = strconv.AppendInt(append(b, "AT+CIPSERVER=1,"...), int64(m.cfg.ServerPort), 10)
		m.issue(now, CmdServer, -1, append(b, "\r\n"...))
	case stepServerTO:
		b = strconv.AppendInt(append(b, "AT+CIPSTO="...), int64(m.cfg.ServerTimeout), 10)
		m.issue(now, CmdServerTO, -1, append(b, "\r\n"...))
	case stepDInfo:
		m.issue(now, CmdDInfo, -1, append(b, "AT+CIPDINFO=1\r\n"...))
	}
}

// next moves bring-up to step s.
func (m *Machine) next(now time.Time, s step) {
	m.step = s
	m.stepTries = 0
	switch s {
	case stepMode, stepJoin, stepAddress:
		if m.state != ModemServing {
			m.setState(ModemJoining)
		}
	case stepServing:
		m.setState(ModemServing)
		m.note(Note{Kind: NoteServing, Link: -1, Text: m.ip[:m.ipLen]})
	}
}

// retryStep tries the current step again after d, or recovers after too many.
func (m *Machine) retryStep(now time.Time, d time.Duration, limit int) {
	m.stepTries++
	if limit > 0 && m.stepTries >= limit {
		m.recover(now, true)
		return
	}
	m.retryAt = now.Add(d)
}

// afterBoot: the modem printed "ready". Its state is the power-on default.
func (m *Machine) afterBoot(now time.Time) {
	m.setState(ModemConfiguring)
	m.step = stepEcho
	m.stepTries = 0
	m.retryAt = now.Add(100 * time.Millisecond) // let the firmware settle
}

// bringupResult handles the final result of a bring-up command.
func (m *Machine) bringupResult(now time.Time, ok bool, ev *parser.ATEvent) {
	if m.state == ModemServing { // a probe after filler, or a fresh address
		if m.cmd == CmdAddress && ok && m.ipLen > 0 {
			m.note(Note{Kind: NoteServing, Link: -1, Text: m.ip[:m.ipLen]})
		}
		return
	}
	switch m.step {
	case stepProbe:
		if ok {
			m.next(now, stepReset)
		} else {
			m.retryStep(now, 200*time.Millisecond, 0)
		}
	case stepReset:
		if ok {
			m.waitReady = true
			m.cmdDeadline = now.Add(m.cfg.BootTimeout)
		} else {
			m.retryStep(now, 500*time.Millisecond, 5)
		}
	case stepEcho:
		if ok {
			m.next(now, stepVersion)
		} else {
			m.retryStep(now, 200*time.Millisecond, 5)
		}
	case stepVersion:
		if !ok {
			m.retryStep(now, 200*time.Millisecond, 5)
			return
		}
		if m.gen == GenUnknown {
			m.gen = GenNonOS // no version line: assume the factory image
		}
		m.note(Note{Kind: NoteFirmware, Firmware: m.gen, Link: -1, Text: m.version[:m.verLen]})
		m.joinSince = now
		if m.cfg.SSID != "" {
			m.next(now, stepMode)
		} else {
			m.next(now, stepAddress)
		}
	case stepMode:
		m.next(now, stepJoin) // an old firmware may refuse _CUR; joining tells
	case stepJoin:
		if ok {
			m.joinSince = now
			m.next(now, stepAddress)
			return
		}
		m.note(Note{Kind: NoteJoinFailed, Link: -1, Status: m.joinCode})
		m.stepTries++
		m.retryAt = now.Add(time.Second << min(m.stepTries, 5)) // 2 s .. 32 s
	case stepAddress:
		if ok && m.ipLen > 0 {
			m.next(now, stepMux)
			return
		}
		if now.Sub(m.joinSince) >= m.cfg.JoinTimeout {
			// Serve anyway: the address is logged when it comes (WIFI GOT IP).
			m.next(now, stepMux)
			return
		}
		m.retryAt = now.Add(500 * time.Millisecond)
	case stepMux:
		if ok {
			m.next(now, stepMaxConn)
		} else {
			m.retryStep(now, 500*time.Millisecond, 3)
		}
	case stepMaxConn:
		m.next(now, stepServer) // optional: absent before NonOS AT 1.7
	case stepServer:
		if ok {
			m.next(now, stepServerTO)
		} else {
			m.retryStep(now, 500*time.Millisecond, 3)
		}
	case stepServerTO:
		m.next(now, stepDInfo) // optional: AT 1.2 refuses it in some states
	case stepDInfo:
		m.next(now, stepServing)
	}
}

// bringupTimeout: a bring-up command went unanswered.
func (m *Machine) bringupTimeout(now time.Time) {
	switch m.step {
	case stepProbe:
		m.stepTries++
		m.retryAt = now.Add(200 * time.Millisecond)
	case stepJoin:
		m.note(Note{Kind: NoteJoinFailed, Link: -1})
		m.stepTries++
		m.retryAt = now.Add(time.Second << min(m.stepTries, 5))
	default:
		m.retryStep(now, 200*time.Millisecond, 3)
	}
}

var (
	prefixVersion = []byte("AT version:")
	prefixStaIP   = []byte("+CIFSR:STAIP,")
	prefixAPIP    = []byte("+CIFSR:APIP,")
	prefixCWJAP   = []byte("+CWJAP:")
	noAddress     = []byte("0.0.0.0")
)

// line takes an informational line of the command in the slot.
func (m *Machine) line(now time.Time, ev *parser.ATEvent) {
	l := ev.Data
	switch m.cmd {
	case CmdVersion:
		if bytes.HasPrefix(l, prefixVersion) && len(l) > len(prefixVersion) {
			m.verLen = copy(m.version[:], l)
			if l[len(prefixVersion)] == '1' || l[len(prefixVersion)] == '0' {
				m.gen = GenNonOS
			} else {
				m.gen = GenESPAT
			}
		}
	case CmdAddress:
		var ip []byte
		switch {
		case bytes.HasPrefix(l, prefixStaIP):
			ip = l[len(prefixStaIP):]
		case bytes.HasPrefix(l, prefixAPIP) && m.ipLen == 0:
			ip = l[len(prefixAPIP):]
		default:
			return
		}
		ip = bytes.Trim(ip, "\"")
		if len(ip) > 0 && !bytes.Equal(ip, noAddress) {
			m.ipLen = copy(m.ip[:], ip)
		}
	case CmdJoin:
		if bytes.HasPrefix(l, prefixCWJAP) {
			if n, err := strconv.Atoi(string(l[len(prefixCWJAP):])); err == nil {
				m.joinCode = n
			}
		}
	}
}

var (
	wifiConnected    = []byte("connected")
	wifiGotIP        = []byte("got_ip")
	wifiDisconnected = []byte("disconnected")
)

// wifi handles the modem's Wi-Fi events.
func (m *Machine) wifi(now time.Time, k parser.ATKind) {
	var name []byte
	switch k {
	case parser.ATWifiConnected:
		name = wifiConnected
	case parser.ATWifiGotIP:
		name = wifiGotIP
		if m.state == ModemServing {
			m.refreshAddr = true
		} else if m.step == stepAddress && m.slot == SlotIdle && !m.retryAt.IsZero() {
			m.retryAt = now // the address it waits for has come: ask now
		}
	case parser.ATWifiDisconnect:
		name = wifiDisconnected
	}
	m.note(Note{Kind: NoteWifi, Link: -1, Text: name})
}
