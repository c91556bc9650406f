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
	CmdAP           // AT+CWSAP(_CUR)=... (wifi.go)
	CmdMDNS         // AT+MDNS=... (wifi.go)
	CmdUART         // AT+UART_CUR=<baud>,8,1,0,0
	numCmds
)

var cmdNames = [numCmds]string{"none", "AT", "AT+RST", "ATE0", "AT+GMR", "AT+CWMODE", "AT+CWJAP",
	"AT+CIFSR", "AT+CIPMUX", "AT+CIPSERVERMAXCONN", "AT+CIPSERVER", "AT+CIPSTO", "AT+CIPDINFO",
	"AT+CIPSEND", "AT+CIPCLOSE", "AT+CWSAP", "AT+MDNS", "AT+UART_CUR"}

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
	stepBaud       // AT+UART_CUR=<TargetBaud>
	stepBaudCheck  // AT at the new rate
	stepBaudRevert // the new rate is silent: AT+UART_CUR=<Baud>, blind
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
		// for a send it never finished: complete it with harmless filler,
		// as much as it may still want when the send is known (the probes
		// went into it) and the line kept one rate, else the most a send
		// takes.
		m.probeRate()
		if m.stepTries > 0 && m.stepTries%3 == 0 {
			n := len(filler)
			if m.owed > 0 && (m.cfg.TargetBaud <= 0 || m.cfg.TargetBaud == m.cfg.Baud) {
				n = max(m.owed-len("AT\r\n")*m.stepTries, 0)
			}
			m.owed = 0
			if n > 0 {
				m.queueOut(filler[:n])
			}
		}
		m.issue(now, CmdProbe, -1, append(b, "AT\r\n"...))
	case stepReset:
		m.issue(now, CmdReset, -1, append(b, "AT+RST\r\n"...))
	case stepEcho:
		m.issue(now, CmdEcho, -1, append(b, "ATE0\r\n"...))
	case stepBaud:
		b = strconv.AppendInt(append(b, "AT+UART_CUR="...), int64(m.cfg.TargetBaud), 10)
		m.issue(now, CmdUART, -1, append(b, ",8,1,0,0\r\n"...))
	case stepBaudCheck:
		m.issue(now, CmdProbe, -1, append(b, "AT\r\n"...))
	case stepBaudRevert:
		b = strconv.AppendInt(append(b, "AT+UART_CUR="...), int64(m.cfg.Baud), 10)
		m.issue(now, CmdUART, -1, append(b, ",8,1,0,0\r\n"...))
	case stepVersion:
		m.verLen = 0
		m.issue(now, CmdVersion, -1, append(b, "AT+GMR\r\n"...))
	case stepMode:
		m.issueMode(now, 1)
	case stepJoin:
		m.issueJoin(now, m.cfg.SSID, m.cfg.Password, false) // wifi.go
	case stepAddress:
		m.issueAddress(now) // wifi.go
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
	default:
		m.setupStep(now) // wifi.go
	}
}

// next moves bring-up to step s.
func (m *Machine) next(now time.Time, s step) {
	m.step = s
	m.stepTries = 0
	switch s {
	case stepMode, stepJoin, stepAddress, stepSetupMode, stepSetupAP:
		if m.state != ModemServing {
			m.setState(ModemJoining)
		}
	case stepServing:
		m.setState(ModemServing)
		m.note(Note{Kind: NoteServing, Link: -1, Text: m.servingAddr()})
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
	m.owed = 0 // a modem that booted collects nothing
	m.setState(ModemConfiguring)
	m.step = stepEcho
	m.stepTries = 0
	m.retryAt = now.Add(100 * time.Millisecond) // let the firmware settle
	m.wifiReset()                               // wifi.go
}

// bringupResult handles the final result of a bring-up command.
func (m *Machine) bringupResult(now time.Time, ok bool, ev *parser.ATEvent) {
	if m.state == ModemServing { // a probe after filler, or a Wi-Fi command
		m.wifiResult(now, ok) // wifi.go
		return
	}
	switch m.step {
	case stepProbe:
		if ok {
			if m.rate.noise && m.lineBaud() != m.cfg.Baud {
				// No reset: the noise came from the line itself.
				m.rate.failed = true
				m.note(Note{Kind: NoteBaud, Link: -1, Status: m.lineBaud(), Text: rateNoisy})
			}
			m.rate.noise = false
			m.next(now, stepReset)
		} else {
			m.retryStep(now, 200*time.Millisecond, 0)
		}
	case stepReset:
		if ok {
			m.waitReady = true
			m.cmdDeadline = now.Add(m.cfg.BootTimeout)
			m.setLine(m.cfg.Baud, rateReset) // the modem boots at its stored rate
		} else {
			m.retryStep(now, 500*time.Millisecond, 5)
		}
	case stepEcho:
		switch {
		case !ok:
			m.retryStep(now, 200*time.Millisecond, 5)
		case m.switchWanted():
			m.next(now, stepBaud)
		default:
			m.next(now, stepVersion)
		}
	case stepBaud:
		if !ok { // the firmware refuses this rate
			m.rate.failed = true
			m.note(Note{Kind: NoteBaud, Link: -1, Status: m.cfg.Baud, Text: rateRefused})
			m.next(now, stepVersion)
			return
		}
		m.setLine(m.cfg.TargetBaud, rateSwitch)
		m.next(now, stepBaudCheck)
		m.retryAt = now.Add(baudSettle)
	case stepBaudCheck:
		if ok {
			m.note(Note{Kind: NoteBaud, Link: -1, Status: m.cfg.TargetBaud, Text: rateVerified})
			m.next(now, stepVersion)
			return
		}
		// ERROR came through at the new rate: junk spoiled the line; again.
		m.baudCheckFailed(now)
	case stepBaudRevert:
		m.baudReverted(now)
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
		m.next(now, m.afterVersion()) // wifi.go
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
		m.addressResult(now, ok) // wifi.go
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
	default:
		m.setupResult(now, ok) // wifi.go
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
	case stepBaudCheck:
		m.baudCheckFailed(now)
	case stepBaudRevert:
		m.baudReverted(now)
	default:
		m.retryStep(now, 200*time.Millisecond, 3)
	}
}

// The switch to a faster line (Config.TargetBaud). After ATE0 the machine
// sends AT+UART_CUR=<TargetBaud>,8,1,0,0; the modem answers OK at the old
// rate and switches (§9), and so does the port (NoteBaud). An AT at the new
// rate must then be answered. If it is not (twice), the machine sends AT+UART_CUR=<Baud> at the new rate, blind
// (the modem may hear what the host cannot read), puts the port back to
// Baud and starts over with AT and AT+RST, never trying the switch again.
// A modem left at either rate is found: while probing, the machine
// alternates between Baud and TargetBaud; AT+RST brings the modem back to
// its stored rate, Baud. A modem that resets while serving on the switched
// line is noticed by the noise its boot makes there (watchNoise).

// baudSettle is the pause after the switch before the first AT at the new
// rate, for the modem to finish the old rate's last byte.
const baudSettle = 20 * time.Millisecond

// Reasons a NoteBaud gives in its Text.
var (
	rateSwitch   = []byte("switch")   // to TargetBaud, unverified
	rateVerified = []byte("verified") // TargetBaud answered; the port is already there
	rateRefused  = []byte("refused")  // the firmware refused TargetBaud; the port stays at Baud
	rateSilent   = []byte("silent")   // TargetBaud went unanswered: back to Baud
	rateNoisy    = []byte("noisy")    // TargetBaud was noisy: back to Baud after the coming reset
	rateReset    = []byte("reset")    // AT+RST: the modem boots at Baud
	rateProbe    = []byte("probe")    // probing a silent modem at the other rate
)

// lineRate is the line's rate as the machine has set it.
type lineRate struct {
	baud   int  // the port's rate; 0 means Config.Baud
	failed bool // the switch failed: stay at Config.Baud
	noise  bool // recovering because of noise on the switched line
}

// lineBaud returns the rate the port runs at.
func (m *Machine) lineBaud() int {
	if m.rate.baud == 0 {
		return m.cfg.Baud
	}
	return m.rate.baud
}

// LineBaud returns the rate the machine has set the line to (NoteBaud).
func (m *Machine) LineBaud() int { return m.lineBaud() }

// setLine asks the loop to set the port to baud, if it is not there.
func (m *Machine) setLine(baud int, why []byte) {
	if baud == m.lineBaud() {
		return
	}
	m.rate.baud = baud
	m.note(Note{Kind: NoteBaud, Link: -1, Status: baud, Text: why})
}

// switchWanted reports whether bring-up should switch to TargetBaud.
func (m *Machine) switchWanted() bool {
	return m.cfg.TargetBaud > 0 && m.cfg.TargetBaud != m.cfg.Baud && !m.rate.failed
}

// probeRate sets the port for the next probe: Baud, and with a target
// rate every other probe TargetBaud, where a modem may have been left.
func (m *Machine) probeRate() {
	if m.cfg.TargetBaud <= 0 || m.cfg.TargetBaud == m.cfg.Baud || m.stepTries%2 == 0 {
		m.setLine(m.cfg.Baud, rateProbe)
		return
	}
	m.setLine(m.cfg.TargetBaud, rateProbe)
}

// watchNoise looks at modem output outside payloads while serving on a
// switched line. The modem only prints ASCII there; a NUL or a byte with
// the high bit set is what a UART makes of bytes sent at another rate, and
// a modem that resets comes back at Baud, where its "ready" cannot be read.
// So noise means recovery: probing finds the modem at Baud (it reset) or
// still at TargetBaud (the line is too noisy for that rate: give it up).
func (m *Machine) watchNoise(now time.Time, b []byte) {
	if m.state != ModemServing || m.lineBaud() == m.cfg.Baud {
		return
	}
	for _, c := range b {
		if c == 0 || c >= 0x80 {
			m.rate.noise = true
			m.recover(now, false) // the "ready" to come, if any, notes the reset
			return
		}
	}
}

// baudCheckFailed: the AT at the new rate went unanswered or was spoiled.
// The second failure gives the new rate up.
func (m *Machine) baudCheckFailed(now time.Time) {
	m.stepTries++
	if m.stepTries < 2 {
		m.retryAt = now.Add(200 * time.Millisecond)
		return
	}
	m.rate.failed = true
	m.next(now, stepBaudRevert)
}

// baudReverted: the blind AT+UART_CUR=<Baud> has been answered or not;
// either way the port goes back to Baud and bring-up starts over.
func (m *Machine) baudReverted(now time.Time) {
	m.setLine(m.cfg.Baud, rateSilent)
	m.setState(ModemSyncing)
	m.next(now, stepProbe)
	m.retryAt = now.Add(baudSettle)
}

var (
	prefixVersion = []byte("AT version:")
	prefixCWJAP   = []byte("+CWJAP:")
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
		m.addressLine(l) // wifi.go
	case CmdJoin:
		if bytes.HasPrefix(l, prefixCWJAP) {
			if n, err := strconv.Atoi(string(l[len(prefixCWJAP):])); err == nil {
				m.joinCode = n
			}
		}
	}
}
