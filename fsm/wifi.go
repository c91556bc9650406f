package fsm

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/espgate/espgate/parser"
)

// Wi-Fi: the station's address, rejoining after the network drops, the
// set-up access point with joins asked for at runtime, and the mDNS
// announcement. Bring-up (modem_bringup.go) calls in here at a few marked
// places; everything that happens while serving is scheduled from here.

// Set-up steps of bring-up, numbered apart from bring-up's own list.
const (
	stepSetupMode step = 100 + iota // AT+CWMODE(_CUR)=3: keep the station, add the access point
	stepSetupAP                     // AT+CWSAP(_CUR)="name","password",1,ecn
)

// Note.Status of NoteSetup.
const (
	SetupClosed = -1 // the set-up access point is closed (or a reset took it)
	SetupJoined = 0  // the station has an address: the page is off; the access point closes after Dur
	SetupOpen   = 1  // the set-up access point is open and its page is on; Text names the network
)

// setupChannel is the set-up access point's channel. When the station
// joins a network the ESP8266 moves its access point to that network's
// channel (one radio), so any channel does.
const setupChannel = 1

// wifiCmd names the Wi-Fi command in the slot while serving.
type wifiCmd uint8

const (
	wcNone    wifiCmd = iota
	wcAddress         // AT+CIFSR after WIFI GOT IP or a join
	wcJoin            // AT+CWJAP(_DEF) asked for by Join
	wcRejoin          // AT+CWJAP(_CUR) after the station was lost
	wcAPClose         // AT+CWMODE(_CUR)=1 closes the set-up access point
	wcMDNSOn          // AT+MDNS=1,...
	wcMDNSOff         // AT+MDNS=0 before announcing a new address
)

// wifiState is the machine's Wi-Fi bookkeeping. The station's address is
// Machine.ip; a boot clears everything but the MAC.
type wifiState struct {
	cmd wifiCmd // the serving-time Wi-Fi command in the slot

	// From AT+CIFSR.
	ap      [40]byte // the access point's address
	apLen   int
	staSeen bool // the last AT+CIFSR listed the station (station mode is on)
	// addrOdd: the last AT+CIFSR had a line garbled on the way (one that
	// names no interface), so a missing station may be a lost line.
	addrOdd     bool
	addrRetries int     // serving-time AT+CIFSR repeated for addrOdd
	mac         [4]byte // the MAC's last four hex digits, for the default set-up name
	macLen      int
	refresh     bool // AT+CIFSR is due (WIFI GOT IP, a join)

	// Rejoining a lost network (SSID set).
	lost     bool      // WIFI DISCONNECT while serving, no WIFI GOT IP since
	rejoinAt time.Time // the next AT+CWJAP
	attempts int

	// A join asked for at runtime (Join).
	joinWant           bool // queued
	joinBusy           bool // issued; its result or its address is awaited
	joinAddr           bool // joined: the address (AT+CIFSR) completes it
	joinSSID, joinPass string

	// The set-up access point.
	setup     bool // bring-up runs the set-up steps
	apOpen    bool
	pageOn    bool // the set-up page is on: no join yet
	apCloseAt time.Time
	name      [32]byte
	nameLen   int

	// mDNS.
	mdnsAddr   [40]byte // the address announced
	mdnsLen    int
	mdnsFailed bool
}

func (c *Config) wifiDefaults(def func(*time.Duration, time.Duration)) {
	def(&c.RejoinWait, 10*time.Second)
	def(&c.RejoinBackoff, 2*time.Second)
	def(&c.RejoinBackoffMax, 60*time.Second)
	def(&c.SetupLinger, 2*time.Minute)
}

// Errors returned by Join.
var (
	ErrNotServing  = errors.New("fsm: the modem is not serving")
	ErrJoinPending = errors.New("fsm: a join is already in progress")
)

// Join asks the modem to join ssid with password now (the set-up page):
// AT+CWJAP_DEF on NonOS, AT+CWJAP on ESP-AT (which stores it while
// AT+SYSSTORE=1, the default), so that the modem joins by itself after a
// power cycle. The outcome comes as NoteJoinResult; once joined, the
// machine rejoins this network like a configured one. Join returns an
// error, and nothing is sent, for credentials the modem cannot take, when
// not serving, or while another join is under way.
func (m *Machine) Join(now time.Time, ssid, password string) error {
	if err := ValidateCredentials(ssid, password); err != nil {
		return err
	}
	w := &m.ws
	if m.state != ModemServing || m.shutdown {
		return ErrNotServing
	}
	if w.joinWant || w.joinBusy {
		return ErrJoinPending
	}
	w.joinWant, w.joinSSID, w.joinPass = true, ssid, password
	m.schedule(now)
	return nil
}

// ValidateCredentials reports whether a network's name and password can go
// to the modem. AT string parameters escape \ " and , (appendEscaped), but
// no control character: a line end would cut the command short.
func ValidateCredentials(ssid, password string) error {
	if ssid == "" {
		return errors.New("the network name must have 1 to 32 bytes")
	}
	return CheckCredentials(ssid, password)
}

// ValidateSetupAP reports whether name and password can make the set-up
// access point: a name of 1 to 32 bytes, and a WPA2 password of 8 to 64
// characters or none (an open network).
func ValidateSetupAP(name, password string) error {
	if name == "" {
		return errors.New("the set-up network name must have 1 to 32 bytes")
	}
	if len(name) > MaxSSID {
		return errors.New("the set-up network name must have 1 to 32 bytes")
	}
	if err := CheckATString("set-up network name", name, MaxSSID); err != nil {
		return err
	}
	if password != "" && len(password) < 8 {
		return errors.New("the set-up network password must have 8 to 64 characters (WPA2), or be empty for an open network")
	}
	return CheckATString("set-up network password", password, MaxPassword)
}

// ValidateMDNSName reports whether name can be announced as name.local:
// one DNS label of letters, digits and hyphens.
func ValidateMDNSName(name string) error {
	if n := len(name); n > 6 && bytes.EqualFold([]byte(name[n-6:]), []byte(".local")) {
		return errors.New("give the mDNS name without .local")
	}
	if name == "" || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return errors.New("the mDNS name must be 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return errors.New("the mDNS name must be 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen")
		}
	}
	return nil
}

// issueJoin issues AT+CWJAP for ssid: _DEF (stored) or _CUR on NonOS; the
// plain command on ESP-AT, which stores it while AT+SYSSTORE=1.
func (m *Machine) issueJoin(now time.Time, ssid, password string, store bool) {
	b := m.cmdBuf[:0]
	switch {
	case m.gen != GenNonOS:
		b = append(b, "AT+CWJAP=\""...)
	case store:
		b = append(b, "AT+CWJAP_DEF=\""...)
	default:
		b = append(b, "AT+CWJAP_CUR=\""...)
	}
	b = appendEscaped(b, ssid)
	b = append(b, "\",\""...)
	b = appendEscaped(b, password)
	m.joinCode = 0
	m.issue(now, CmdJoin, -1, append(b, "\"\r\n"...))
}

// issueAddress issues AT+CIFSR, forgetting the addresses it will report.
func (m *Machine) issueAddress(now time.Time) {
	m.ipLen, m.ws.apLen, m.ws.staSeen, m.ws.addrOdd = 0, 0, false, false
	m.issue(now, CmdAddress, -1, append(m.cmdBuf[:0], "AT+CIFSR\r\n"...))
}

var (
	prefixStaIP  = []byte("+CIFSR:STAIP,")
	prefixAPIP   = []byte("+CIFSR:APIP,")
	prefixStaMAC = []byte("+CIFSR:STAMAC,")
	prefixAPMAC  = []byte("+CIFSR:APMAC,")
	noAddress    = []byte("0.0.0.0")
)

// addressLine takes one line of AT+CIFSR (§4.3): one address and one MAC
// per interface that is on; a station without an address says 0.0.0.0.
func (m *Machine) addressLine(l []byte) {
	w := &m.ws
	switch {
	case bytes.HasPrefix(l, prefixStaIP):
		w.staSeen = true
		if ip := bytes.Trim(l[len(prefixStaIP):], "\""); len(ip) > 0 && !bytes.Equal(ip, noAddress) {
			m.ipLen = copy(m.ip[:], ip)
		}
	case bytes.HasPrefix(l, prefixAPIP):
		if ip := bytes.Trim(l[len(prefixAPIP):], "\""); len(ip) > 0 && !bytes.Equal(ip, noAddress) {
			w.apLen = copy(w.ap[:], ip)
		}
	case bytes.HasPrefix(l, prefixStaMAC), bytes.HasPrefix(l, prefixAPMAC):
		w.staSeen = w.staSeen || bytes.HasPrefix(l, prefixStaMAC)
		if mac := bytes.Trim(l[bytes.IndexByte(l, ',')+1:], "\""); len(mac) == 17 && (w.macLen == 0 || bytes.HasPrefix(l, prefixStaMAC)) {
			w.macLen = copy(w.mac[:], mac[12:14]) + copy(w.mac[2:], mac[15:17])
		}
	case !interfaceLine(l):
		w.addrOdd = true
	}
}

// interfaceLine reports whether l reads as an AT+CIFSR line for some
// interface, "+CIFSR:<NAME>,...", NAME in capitals and digits: one this
// machine does not use (ESP-AT's STAIP6LL, ETHIP) rather than a line
// garbled on the way.
func interfaceLine(l []byte) bool {
	rest, ok := bytes.CutPrefix(l, []byte("+CIFSR:"))
	name, _, ok2 := bytes.Cut(rest, []byte(","))
	if !ok || !ok2 || len(name) == 0 {
		return false
	}
	for _, c := range name {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// servingAddr is the address clients use: the set-up access point's while
// its page is on (or while the station has none), else the station's.
func (m *Machine) servingAddr() []byte {
	if w := &m.ws; (w.pageOn || m.ipLen == 0) && w.apLen > 0 {
		return w.ap[:w.apLen]
	}
	return m.ip[:m.ipLen]
}

// afterVersion chooses the step after AT+GMR: join the configured network,
// open the set-up access point when asked to, or see whether the modem
// joins a network by itself (stored credentials).
func (m *Machine) afterVersion() step {
	switch {
	case m.cfg.SSID != "":
		return stepMode
	case m.cfg.SetupAP != "":
		m.startSetup()
		return stepSetupMode
	}
	return stepAddress
}

// addressResult ends bring-up's AT+CIFSR.
func (m *Machine) addressResult(now time.Time, ok bool) {
	w := &m.ws
	switch {
	case w.setup: // the access point's address will do
		if ok && (w.apLen > 0 || m.ipLen > 0) {
			if w.pageOn && m.ipLen > 0 && m.cfg.SetupAP == "" {
				// The station joined a network it knew meanwhile: no
				// WIFI GOT IP will come to end the page later.
				m.endSetupPage(now)
			}
			m.next(now, stepMux)
			return
		}
		m.retryStep(now, 500*time.Millisecond, 5)
	case m.cfg.SSID != "":
		if ok && m.ipLen > 0 {
			m.next(now, stepMux)
			return
		}
		if now.Sub(m.joinSince) >= m.cfg.JoinTimeout {
			// Serve anyway: the address is noted when it comes (WIFI GOT IP).
			m.next(now, stepMux)
			return
		}
		m.retryAt = now.Add(500 * time.Millisecond)
	default: // no network configured: wait for the modem's own
		if ok && m.ipLen > 0 {
			if w.apLen > 0 {
				// An access point left on (a factory default, a set-up
				// cut short): close it once serving, as after set-up.
				w.apOpen, w.apCloseAt = true, now
			}
			m.next(now, stepMux)
			return
		}
		if ok && !w.staSeen && !w.addrOdd || now.Sub(m.joinSince) >= m.cfg.JoinTimeout {
			// The station is off, or joined nothing in time: set-up.
			m.startSetup()
			m.next(now, stepSetupMode)
			return
		}
		m.retryAt = now.Add(500 * time.Millisecond)
	}
}

// startSetup names the set-up access point: SetupAP, or "espgate-" and
// the end of the modem's MAC.
func (m *Machine) startSetup() {
	w := &m.ws
	w.setup = true
	if m.cfg.SetupAP != "" {
		w.nameLen = copy(w.name[:], m.cfg.SetupAP)
		return
	}
	w.nameLen = copy(w.name[:], "espgate")
	if w.macLen == len(w.mac) {
		w.nameLen += copy(w.name[w.nameLen:], "-")
		w.nameLen += copy(w.name[w.nameLen:], w.mac[:])
	}
}

// issueMode issues AT+CWMODE(_CUR)=mode: 1 station, 3 station and
// access point.
func (m *Machine) issueMode(now time.Time, mode byte) {
	b := append(m.cmdBuf[:0], "AT+CWMODE"...)
	if m.gen == GenNonOS {
		b = append(b, "_CUR"...)
	}
	m.issue(now, CmdMode, -1, append(b, '=', '0'+mode, '\r', '\n'))
}

// setupStep issues a set-up step's command. Mode 3 (station and access
// point) rather than 2: the station can then join from the set-up page
// while the phone that asked stays connected to read the outcome, and it
// keeps reconnecting by itself to a network it knows.
func (m *Machine) setupStep(now time.Time) {
	b := m.cmdBuf[:0]
	switch m.step {
	case stepSetupMode:
		m.issueMode(now, 3)
	case stepSetupAP:
		if m.gen == GenNonOS {
			b = append(b, "AT+CWSAP_CUR=\""...)
		} else {
			b = append(b, "AT+CWSAP=\""...)
		}
		w := &m.ws
		b = appendEscaped(b, string(w.name[:w.nameLen]))
		b = append(b, "\",\""...)
		b = appendEscaped(b, m.cfg.SetupPassword)
		b = strconv.AppendInt(append(b, "\","...), setupChannel, 10)
		if m.cfg.SetupPassword == "" {
			b = append(b, ",0\r\n"...) // open
		} else {
			b = append(b, ",3\r\n"...) // WPA2_PSK
		}
		m.issue(now, CmdAP, -1, b)
	}
}

// setupResult ends a set-up step.
func (m *Machine) setupResult(now time.Time, ok bool) {
	w := &m.ws
	switch m.step {
	case stepSetupMode:
		if ok {
			m.next(now, stepSetupAP)
		} else {
			m.retryStep(now, 500*time.Millisecond, 3)
		}
	case stepSetupAP:
		if !ok {
			m.retryStep(now, 500*time.Millisecond, 3)
			return
		}
		w.apOpen, w.pageOn = true, true
		m.note(Note{Kind: NoteSetup, Link: -1, Status: SetupOpen, Text: w.name[:w.nameLen]})
		m.next(now, stepAddress)
	}
}

// wifiReset forgets the Wi-Fi state at a boot; a join under way fails.
func (m *Machine) wifiReset() {
	w := &m.ws
	if w.joinWant || w.joinBusy {
		m.note(Note{Kind: NoteJoinResult, Link: -1, Status: -1})
	}
	if w.apOpen {
		m.note(Note{Kind: NoteSetup, Link: -1, Status: SetupClosed})
	}
	*w = wifiState{mac: w.mac, macLen: w.macLen}
}

var (
	wifiConnected    = []byte("connected")
	wifiGotIP        = []byte("got_ip")
	wifiDisconnected = []byte("disconnected")
)

// wifi handles the modem's Wi-Fi events. While serving, WIFI GOT IP asks
// for the (perhaps new) address; WIFI DISCONNECT, unless our own AT+CWJAP
// printed it, loses the address and, with a network configured, gives the
// modem RejoinWait to reconnect by itself before the host rejoins.
func (m *Machine) wifi(now time.Time, k parser.ATKind) {
	w := &m.ws
	serving := m.state == ModemServing
	switch k {
	case parser.ATWifiConnected:
		m.note(Note{Kind: NoteWifi, Link: -1, Text: wifiConnected})
	case parser.ATWifiGotIP:
		m.note(Note{Kind: NoteWifi, Link: -1, Text: wifiGotIP})
		if serving {
			w.refresh = true
			w.lost, w.rejoinAt, w.attempts = false, time.Time{}, 0
		} else if m.step == stepAddress && m.slot == SlotIdle && !m.retryAt.IsZero() {
			m.retryAt = now // the address it waits for has come: ask now
		}
	case parser.ATWifiDisconnect:
		m.note(Note{Kind: NoteWifi, Link: -1, Text: wifiDisconnected})
		if !serving || m.slot != SlotIdle && m.cmd == CmdJoin {
			return
		}
		m.ipLen = 0
		if m.cfg.SSID != "" && !w.lost {
			w.lost, w.attempts = true, 0
			w.rejoinAt = now.Add(m.cfg.RejoinWait)
			m.note(Note{Kind: NoteRejoin, Link: -1, Dur: m.cfg.RejoinWait})
		}
	}
}

// wifiSchedule issues the Wi-Fi command that is due while serving, if
// any, and reports whether it did.
func (m *Machine) wifiSchedule(now time.Time) bool {
	w := &m.ws
	if m.shutdown {
		return false
	}
	b := m.cmdBuf[:0]
	switch {
	case w.refresh:
		w.refresh, w.cmd = false, wcAddress
		m.issueAddress(now)
	case w.joinWant:
		w.joinWant, w.joinBusy, w.cmd = false, true, wcJoin
		m.issueJoin(now, w.joinSSID, w.joinPass, true)
	case w.lost && !w.rejoinAt.IsZero() && !now.Before(w.rejoinAt):
		w.rejoinAt, w.cmd = time.Time{}, wcRejoin
		w.attempts++
		m.note(Note{Kind: NoteRejoin, Link: -1, Status: w.attempts})
		m.issueJoin(now, m.cfg.SSID, m.cfg.Password, false)
	case w.apOpen && !w.pageOn && !w.apCloseAt.IsZero() && !now.Before(w.apCloseAt):
		w.apCloseAt, w.cmd = time.Time{}, wcAPClose
		m.issueMode(now, 1)
	case m.cfg.MDNSName != "" && !w.mdnsFailed && !w.lost && m.ipLen > 0 && w.mdnsLen == 0:
		// §4 of the reference is silent on AT+MDNS. NonOS AT: AT+MDNS=<enable>,
		// <hostname>,<server_name>,<server_port>, and its lwIP mdns.c
		// announces "_<server_name>._tcp"; ESP-AT: AT+MDNS=<enable>[,
		// <hostname>,<service_name>,<port>] with the type itself ("_iot").
		w.cmd = wcMDNSOn
		b = append(b, "AT+MDNS=1,\""...)
		b = append(b, m.cfg.MDNSName...)
		if m.gen == GenNonOS {
			b = append(b, "\",\"http\","...)
		} else {
			b = append(b, "\",\"_http\","...)
		}
		b = strconv.AppendInt(b, int64(m.cfg.ServerPort), 10)
		m.issue(now, CmdMDNS, -1, append(b, "\r\n"...))
	case m.cfg.MDNSName != "" && w.mdnsLen > 0 && m.ipLen > 0 && !bytes.Equal(w.mdnsAddr[:w.mdnsLen], m.ip[:m.ipLen]):
		// A new address: the responder answers with the one it started
		// with, so restart it.
		w.cmd = wcMDNSOff
		m.issue(now, CmdMDNS, -1, append(b, "AT+MDNS=0\r\n"...))
	default:
		return false
	}
	return true
}

// wifiDeadline is the earliest time wifiSchedule has work, or zero.
func (m *Machine) wifiDeadline() time.Time {
	w := &m.ws
	if m.state != ModemServing || m.shutdown {
		return time.Time{}
	}
	var d time.Time
	if w.lost {
		d = w.rejoinAt
	}
	if w.apOpen && !w.pageOn && !w.apCloseAt.IsZero() && (d.IsZero() || w.apCloseAt.Before(d)) {
		d = w.apCloseAt
	}
	return d
}

// wifiResult ends a command while serving.
func (m *Machine) wifiResult(now time.Time, ok bool) {
	w := &m.ws
	c := w.cmd
	w.cmd = wcNone
	switch c {
	case wcAddress:
		m.addressRefreshed(now, ok)
	case wcJoin:
		m.joinDone(now, ok, m.joinCode)
	case wcRejoin:
		if ok {
			w.lost, w.attempts, w.rejoinAt, w.refresh = false, 0, time.Time{}, true
			return
		}
		m.rejoinFailed(now, m.joinCode)
	case wcAPClose:
		if ok {
			w.apOpen, w.apLen = false, 0
			m.note(Note{Kind: NoteSetup, Link: -1, Status: SetupClosed})
		} else {
			w.apCloseAt = now.Add(5 * time.Second)
		}
	case wcMDNSOn:
		m.mdnsDone(ok)
	case wcMDNSOff:
		w.mdnsLen = 0
	}
}

// wifiTimeout: a Wi-Fi command went unanswered while serving.
func (m *Machine) wifiTimeout(now time.Time) {
	w := &m.ws
	c := w.cmd
	w.cmd = wcNone
	switch c {
	case wcAddress:
		m.addressRefreshed(now, false)
	case wcJoin:
		m.joinDone(now, false, -1)
	case wcRejoin:
		m.rejoinFailed(now, 0)
	case wcAPClose:
		w.apCloseAt = now.Add(5 * time.Second)
	case wcMDNSOn:
		m.mdnsDone(false)
	case wcMDNSOff:
		w.mdnsLen, w.mdnsFailed = 0, true
	}
}

// addressRefreshed ends AT+CIFSR while serving: a station address ends an
// automatic set-up, the address is noted, and a join is complete.
func (m *Machine) addressRefreshed(now time.Time, ok bool) {
	w := &m.ws
	if ok && w.addrOdd && m.ipLen == 0 && w.addrRetries < 3 {
		// A line was garbled, perhaps the station's: ask again.
		w.addrRetries++
		w.refresh = true
		return
	}
	w.addrRetries = 0
	if ok {
		if w.pageOn && m.ipLen > 0 && m.cfg.SetupAP == "" {
			m.endSetupPage(now) // the modem joined a network it knew
		}
		if a := m.servingAddr(); len(a) > 0 {
			m.note(Note{Kind: NoteServing, Link: -1, Text: a})
		}
	}
	if w.joinAddr {
		w.joinAddr, w.joinBusy = false, false
		m.note(Note{Kind: NoteJoinResult, Link: -1, Text: m.ip[:m.ipLen]})
	}
}

// joinDone ends a runtime join's AT+CWJAP; code is its +CWJAP code.
func (m *Machine) joinDone(now time.Time, ok bool, code int) {
	w := &m.ws
	if ok {
		m.cfg.SSID, m.cfg.Password = w.joinSSID, w.joinPass // rejoin this one from now on
		w.joinSSID, w.joinPass = "", ""
		w.lost, w.rejoinAt = false, time.Time{}
		if w.pageOn {
			m.endSetupPage(now)
		}
		w.joinAddr, w.refresh = true, true
		return
	}
	if code <= 0 {
		code = -1
	}
	w.joinBusy, w.joinSSID, w.joinPass = false, "", ""
	m.note(Note{Kind: NoteJoinResult, Link: -1, Status: code})
}

// endSetupPage: the station joined; the access point stays SetupLinger
// for the page that reports it.
func (m *Machine) endSetupPage(now time.Time) {
	w := &m.ws
	w.pageOn = false
	w.apCloseAt = now.Add(m.cfg.SetupLinger)
	m.note(Note{Kind: NoteSetup, Link: -1, Status: SetupJoined, Dur: m.cfg.SetupLinger})
}

// rejoinFailed schedules the next rejoin: RejoinBackoff, doubling up to
// RejoinBackoffMax.
func (m *Machine) rejoinFailed(now time.Time, code int) {
	w := &m.ws
	if !w.lost { // back meanwhile (WIFI GOT IP)
		return
	}
	d := m.cfg.RejoinBackoff << min(max(w.attempts-1, 0), 20)
	if d <= 0 || d > m.cfg.RejoinBackoffMax {
		d = m.cfg.RejoinBackoffMax
	}
	w.rejoinAt = now.Add(d)
	m.note(Note{Kind: NoteJoinFailed, Link: -1, Status: code, Dur: d})
}

// mdnsDone ends AT+MDNS=1: a refusal (old firmware) is final until the
// next boot.
func (m *Machine) mdnsDone(ok bool) {
	w := &m.ws
	if ok {
		w.mdnsLen = copy(w.mdnsAddr[:], m.ip[:m.ipLen])
		m.note(Note{Kind: NoteMDNS, Link: -1, Text: []byte(m.cfg.MDNSName)})
		return
	}
	w.mdnsFailed = true
	m.note(Note{Kind: NoteMDNS, Link: -1, Status: -1, Text: []byte(m.cfg.MDNSName)})
}
