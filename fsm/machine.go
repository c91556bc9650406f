package fsm

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/espgate/espgate/parser"
)

// MaxLinks is the number of links the modem offers (ids 0..4).
const MaxLinks = 5

// MaxSend is the largest payload one AT+CIPSEND takes on the ESP8266.
const MaxSend = 2048

// Config sets the machine's targets and limits. Zero fields take defaults.
type Config struct {
	ServerPort     int           // the modem's TCP server port; default 80
	SSID, Password string        // join this network when SSID is set
	ServerTimeout  int           // AT+CIPSTO seconds, the modem's own idle backstop; default 180
	Baud           int           // the line rate the modem boots at; default 115200
	TargetBaud     int           // after each reset switch the line to this rate (AT+UART_CUR); 0: stay at Baud
	Limits         parser.Limits // HTTP request limits; zero value: parser.DefaultLimits()
	HeaderTimeout  time.Duration // from a request's first byte to its complete head; default 10s
	BodyTimeout    time.Duration // longest pause inside a request body; default 10s
	IdleTimeout    time.Duration // a link with no request in progress; default 5s
	Linger         time.Duration // after a response that ends the connection, wait this long for the client to close first; default 1s
	CommandTimeout time.Duration // an ordinary AT command; default 2s
	JoinTimeout    time.Duration // AT+CWJAP and waiting for an address; default 20s
	BootTimeout    time.Duration // AT+RST until "ready"; default 10s
	BootWait       time.Duration // at start, how long to listen for a booting modem's "ready" before probing; default 1s
	SendOKTimeout  time.Duration // payload written until SEND OK; default 5s
	Heartbeat      time.Duration // an idle modem is probed this often, to notice a reset whose "ready" was lost; default 5s
	StashBytes     int           // pipelined input held per busy link; default 16 KiB
	// StreamBody, if set, is asked when a request head announces a body:
	// true announces the request at once (NoteRequest) and hands the body
	// over as it arrives (NoteBody, TakeBody, NoteBodyEnd) instead of
	// collecting it first. It must not keep r.
	StreamBody func(link int, r *parser.Request) bool
	// DefaultHeader holds header lines ("Name: value\r\n" each) added to
	// every response, the machine's own error answers included, unless
	// the response has a line of the same name. Not to hijacked links.
	DefaultHeader []byte

	// Wi-Fi (wifi.go).
	//
	// SetupAP, when set, opens the set-up access point with this name at
	// start (SSID must be empty). Without it the set-up access point opens,
	// named "espgate-" and the end of the modem's MAC, only when SSID is
	// empty and the modem finds no network within JoinTimeout.
	SetupAP          string
	SetupPassword    string        // WPA2 password of the set-up access point; empty: an open network
	MDNSName         string        // announce <MDNSName>.local with AT+MDNS once the station has an address
	RejoinWait       time.Duration // after WIFI DISCONNECT, how long the modem may reconnect by itself before AT+CWJAP; default 10s
	RejoinBackoff    time.Duration // the pause after the first failed rejoin, doubling after each; default 2s
	RejoinBackoffMax time.Duration // the longest pause between rejoins; default 60s
	SetupLinger      time.Duration // once joined, how long the set-up access point stays open; default 2m
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.ServerPort <= 0 {
		c.ServerPort = 80
	}
	if c.ServerTimeout <= 0 {
		c.ServerTimeout = 180
	}
	if c.Baud <= 0 {
		c.Baud = 115200
	}
	if c.Limits == (parser.Limits{}) {
		c.Limits = parser.DefaultLimits()
	}
	def(&c.HeaderTimeout, 10*time.Second)
	def(&c.BodyTimeout, 10*time.Second)
	def(&c.IdleTimeout, 5*time.Second)
	def(&c.Linger, time.Second)
	def(&c.CommandTimeout, 2*time.Second)
	def(&c.JoinTimeout, 20*time.Second)
	def(&c.BootTimeout, 10*time.Second)
	def(&c.BootWait, time.Second)
	def(&c.SendOKTimeout, 5*time.Second)
	def(&c.Heartbeat, 5*time.Second)
	if c.StashBytes <= 0 {
		c.StashBytes = 16 << 10
	}
	c.wifiDefaults(def) // wifi.go
}

// NoteKind says what a Note reports.
type NoteKind uint8

const (
	NoteRequest      NoteKind = iota // a complete request on Link (generation Gen): answer it with Respond; Text holds the client's IP as the modem reported it (may be empty)
	NoteLinkOpen                     // a client connected on Link; Text holds its IP when the modem reported one
	NoteLinkClosed                   // Link closed for Reason
	NoteResponseDone                 // the response on Link is sent: Status, Method, Bytes (on the wire), Dur (since the request's first byte), BytesIn, Sends, Wire
	NoteFirstByte                    // the first chunk of a response on Link was sent: Dur since the request's first byte
	NoteRawData                      // a hijacked link received bytes: take them with TakeRaw
	NoteModemState                   // the modem entered State
	NoteServing                      // the server is up; Text holds the station or AP address
	NoteModemReset                   // the modem reset (unexpected "ready", or recovery)
	NoteATFailure                    // a command met Failure; Cmd names it
	NoteCommand                      // a command finished; Cmd names it, Dur is its latency
	NoteFirmware                     // AT+GMR told the generation (Firmware) and Text holds the version line
	NoteWifi                         // a Wi-Fi event; Text names it
	NoteJoinFailed                   // AT+CWJAP failed; Status holds the +CWJAP code (0 when none); Dur, when set, is the pause before the next attempt
	NoteBody                         // a streamed request body has bytes on Link: take them with TakeBody
	NoteBodyEnd                      // a streamed request body ended: Status 0, or the error status that cut it (400, 408, 413)
	// Wi-Fi notes (wifi.go).
	NoteRejoin     // the station is lost: Status 0 waits Dur for the modem's own reconnection; Status n>0 is the host's n-th AT+CWJAP
	NoteSetup      // the set-up access point: Status SetupOpen (Text names it), SetupJoined (the page is off; the access point closes after Dur) or SetupClosed
	NoteJoinResult // the end of a Join: Status 0 joined (Text holds the station address), the +CWJAP code, or -1 without one
	NoteMDNS       // AT+MDNS: Status 0 announced Text.local, -1 refused (firmware without mDNS)
	NoteBaud       // the line runs at Status baud from now on: set the port before writing more; Text says why: switch, verified, refused, silent, noisy, reset or probe (modem_bringup.go)
	// NoteLinkClosing: the server began to close Link for Reason
	// (AT+CIPCLOSE, or first a moment for the client to close);
	// NoteLinkClosed follows.
	NoteLinkClosing
)

// Failure classifies a failed AT exchange.
type Failure uint8

const (
	FailBusy     Failure = iota // "busy p..." or "busy s..."
	FailError                   // "ERROR" or "FAIL"
	FailSendFail                // "SEND FAIL"
	FailTimeout                 // no answer in time
	numFailures
)

var failureNames = [numFailures]string{"busy", "error", "send_fail", "timeout"}

func (f Failure) String() string {
	if f < numFailures {
		return failureNames[f]
	}
	return "invalid"
}

// Note is something the loop should know or act on. Text is a view valid
// until the next call into the Machine.
type Note struct {
	Kind     NoteKind
	Link     int
	Gen      uint32
	Reason   CloseReason
	State    ModemState
	Failure  Failure
	Firmware Generation
	Cmd      Cmd
	Method   Method
	Status   int
	Bytes    int64
	Dur      time.Duration
	Text     []byte
	// For NoteResponseDone: the request's bytes as received, the
	// AT+CIPSEND round trips of the response and their total time.
	BytesIn int64
	Sends   int
	Wire    time.Duration
}

// Response is a handler's answer, framed and sent by the machine.
type Response struct {
	Status int
	// Header holds extra header lines, each "Name: value\r\n". The machine
	// adds Date, Content-Length or Transfer-Encoding, and Connection.
	Header []byte
	// Body is sent as it is; it must stay unchanged until NoteResponseDone
	// or NoteLinkClosed for the link.
	Body []byte
	// Stream, when set, supplies the body instead of Body. It must not
	// block: the machine reads it on the loop. A Read that returns (0, nil)
	// means nothing is ready yet: the link waits until Wake. Length is its
	// size, or -1 when unknown (chunked for HTTP/1.1, close-delimited for
	// HTTP/1.0).
	Stream io.Reader
	Length int64
	// Close asks to close the link after this response.
	Close bool
	// Raw hands the link over (hijacking): no status line or headers are
	// sent, Stream's bytes go out as they are until it ends (then the link
	// closes), and the client's later bytes are not parsed as HTTP: each
	// arrival is announced by NoteRawData and taken with TakeRaw.
	Raw bool
}

// Errors returned by Respond.
var (
	ErrStale  = errors.New("fsm: the link's request is gone (closed or already answered)")
	ErrStatus = errors.New("fsm: response status must be 200..999 or 1xx is not allowed here")
)

// Machine is the protocol engine for one modem. It is owned by one
// goroutine (the loop) and is not safe for concurrent use.
type Machine struct {
	cfg   Config
	state ModemState
	gen   Generation
	sc    parser.ATScanner

	// The command slot.
	slot        SlotState
	cmd         Cmd
	cmdLink     int
	cmdLinkGen  uint32
	cmdLen      int
	cmdBuf      [256]byte
	cmdIssued   time.Time // when the line was fully written
	lastIssue   time.Time // when the last command was put in the slot
	cmdDeadline time.Time
	retry       bool      // cmdBuf holds a command refused with busy: reissue at retryAt
	retryAt     time.Time // also the earliest time the next command may go out
	busyRun     int
	timeoutRun  int
	recvSeen    bool // "Recv" seen for the send in flight
	sawRecv     bool // this firmware prints "Recv": require it before SEND OK
	// resultNoRecv: a send result came while "Recv" was awaited. It is
	// taken for a stale one, but it also shows that the modem is not
	// collecting payload if the send's own "Recv" was lost on the line.
	resultNoRecv bool
	// resend says what was written after a send's prompt or result was
	// lost; the machine then waits for the modem's Recv and result.
	resend resendKind
	// echoed: the modem echoed a command while serving (see reply).
	echoed bool

	// Bring-up.
	step      step
	stepTries int
	waitReady bool
	joinSince time.Time
	ip        [40]byte
	ipLen     int
	version   [96]byte
	verLen    int
	joinCode  int
	ws        wifiState // Wi-Fi bookkeeping, wifi.go

	date    [40]byte // the HTTP date of dateSec
	dateLen int
	dateSec int64

	// The send pipeline: one chunk buffer for all links.
	send     [MaxSend]byte
	sendLen  int
	sendLink int
	sendGen  uint32
	// owed: a send given up on before its prompt came, for this many
	// bytes; a modem that did prompt is still collecting them (0: none known).
	owed     int
	sendDone bool // the chunk finishes its link's response
	rr       int

	// Output to the modem: at most two segments (filler, then a line).
	out     [2][]byte
	nOut    int
	writing bool

	links [MaxLinks]link
	// ipdLink is the link the payload being scanned belongs to, by its
	// +IPD header and the client address in it; -1 drops the payload.
	ipdLink int
	// afterPayload: the last event ended a payload. A line the scanner
	// cannot place right after one means the payload's length was
	// garbled on the line.
	afterPayload bool
	// stallAt: the scanner is inside a payload and no byte came since;
	// at stallAt its length is taken for garbled.
	stallAt time.Time

	notes []Note
	nhead int

	shutdown bool

	rate lineRate // the line's rate and the switch to TargetBaud (modem_bringup.go)
}

// New returns a machine in ModemBooting. Call Start to begin bring-up.
func New(cfg Config) *Machine {
	cfg.setDefaults()
	m := &Machine{cfg: cfg, notes: make([]Note, 0, 64), ipdLink: -1}
	m.sc.Mux = true // the machine always runs AT+CIPMUX=1
	for i := range m.links {
		m.links[i].init(i, &m.cfg)
	}
	return m
}

// State returns the modem state.
func (m *Machine) State() ModemState { return m.state }

// Slot returns the command slot's state.
func (m *Machine) Slot() SlotState { return m.slot }

// Generation returns the firmware generation (GenUnknown before AT+GMR).
func (m *Machine) Generation() Generation { return m.gen }

// Address returns the address clients use, as last reported by AT+CIFSR:
// the station's, or the set-up access point's while its page is on.
func (m *Machine) Address() string { return string(m.servingAddr()) }

// Config returns the machine's configuration with defaults applied.
func (m *Machine) Config() Config { return m.cfg }

// SetBaud tells the machine the line rate changed.
func (m *Machine) SetBaud(baud int) {
	if baud > 0 {
		m.cfg.Baud = baud
	}
}

// Start begins bring-up at now. The machine first listens for BootWait:
// a modem that is booting says "ready" and is configured at once; a quiet
// one is probed.
func (m *Machine) Start(now time.Time) {
	m.note(Note{Kind: NoteModemState, State: ModemBooting, Link: -1})
	m.step = stepProbe
	m.stepTries = 0
	m.retryAt = now.Add(m.cfg.BootWait)
}

// PopNote returns the oldest unread note.
func (m *Machine) PopNote() (Note, bool) {
	if n := m.NextNote(); n != nil {
		return *n, true
	}
	return Note{}, false
}

// NextNote is PopNote without the copy: it returns the oldest unread note,
// or nil. The note stays valid until the next call to NextNote or PopNote.
func (m *Machine) NextNote() *Note {
	if m.nhead == len(m.notes) {
		m.notes = m.notes[:0]
		m.nhead = 0
		return nil
	}
	m.nhead++
	return &m.notes[m.nhead-1]
}

func (m *Machine) note(n Note) { m.notes = append(m.notes, n) }

func (m *Machine) setState(s ModemState) {
	if m.state == s {
		return
	}
	m.state = s
	m.note(Note{Kind: NoteModemState, State: s, Link: -1})
}

// Output returns the next bytes to write to the modem, or nil. The slice
// belongs to the machine; the caller writes all of it and then calls
// WriteDone. Until then Output returns nil and the bytes must not change.
func (m *Machine) Output() []byte {
	if m.writing || m.nOut == 0 {
		return nil
	}
	m.writing = true
	return m.out[0]
}

// WriteDone reports that the bytes from Output have been written.
func (m *Machine) WriteDone(now time.Time) {
	if !m.writing {
		return
	}
	m.writing = false
	m.out[0] = m.out[1]
	m.out[1] = nil
	m.nOut--
	if m.nOut == 0 {
		m.written(now)
	}
	m.schedule(now)
}

func (m *Machine) queueOut(b []byte) {
	m.out[m.nOut] = b
	m.nOut++
}

// Input hands the machine bytes read from the modem. The machine keeps no
// reference to p after it returns.
func (m *Machine) Input(now time.Time, p []byte) {
	var ev parser.ATEvent
	for len(p) > 0 {
		inPayload := m.sc.InPayload()
		n := m.sc.Next(p, &ev)
		if !inPayload && ev.Kind != parser.ATData {
			m.watchNoise(now, p[:n]) // modem_bringup.go
		}
		p = p[n:]
		if ev.Kind != parser.ATNone {
			m.event(now, &ev)
		}
	}
	m.stallAt = time.Time{}
	if m.sc.InPayload() { // payload bytes come back to back
		m.stallAt = now.Add(m.cfg.CommandTimeout)
	}
	m.schedule(now)
}

// Tick runs the deadlines due at now.
func (m *Machine) Tick(now time.Time) {
	if m.slot != SlotIdle && !m.writing && m.nOut == 0 && !m.cmdDeadline.IsZero() && !now.Before(m.cmdDeadline) {
		m.commandTimeout(now)
	}
	if m.waitReady && !m.cmdDeadline.IsZero() && !now.Before(m.cmdDeadline) && m.slot == SlotIdle {
		m.waitReady = false
		m.fail(now, FailTimeout)
		m.recover(now, false)
	}
	if !m.stallAt.IsZero() && !now.Before(m.stallAt) {
		m.stallAt = time.Time{}
		m.sc.Reset()
		m.resync(now)
	}
	for i := range m.links {
		m.links[i].tick(m, now)
	}
	m.schedule(now)
}

// NextDeadline returns the earliest time Tick has work, or the zero time.
func (m *Machine) NextDeadline() time.Time {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if (m.slot != SlotIdle || m.waitReady) && !m.writing && m.nOut == 0 {
		earliest(m.cmdDeadline)
	}
	if m.slot == SlotIdle && !m.retryAt.IsZero() {
		earliest(m.retryAt)
	}
	if m.slot == SlotIdle && m.nOut == 0 && !m.waitReady && m.retryAt.IsZero() {
		earliest(m.wifiDeadline()) // wifi.go; only when schedule would act on it
	}
	if m.state == ModemServing && m.slot == SlotIdle && !m.shutdown {
		earliest(m.lastIssue.Add(m.cfg.Heartbeat))
	}
	for i := range m.links {
		earliest(m.links[i].deadline)
	}
	earliest(m.stallAt)
	return d
}

// event dispatches one scanner event.
func (m *Machine) event(now time.Time, ev *parser.ATEvent) {
	if m.afterPayload && ev.Kind == parser.ATLine && m.state == ModemServing {
		m.resync(now)
	}
	m.afterPayload = ev.Kind == parser.ATData && ev.Last
	switch ev.Kind {
	case parser.ATData:
		if m.ipdLink >= 0 {
			m.links[m.ipdLink].data(m, now, ev.Data)
		}
	case parser.ATIPD:
		if m.ipdLink = m.ipdOwner(ev); m.ipdLink >= 0 {
			m.links[m.ipdLink].ipd(m, now, ev.IP, ev.Port)
		}
	case parser.ATConnect:
		if ev.Link < MaxLinks {
			m.links[ev.Link].open(m, now, nil, 0)
		}
	case parser.ATLinkConn:
		if ev.Link < MaxLinks && ev.Len == 0 {
			m.links[ev.Link].open(m, now, ev.IP, ev.Port)
		}
	case parser.ATClosed, parser.ATConnectFail:
		if ev.Link < MaxLinks {
			m.links[ev.Link].closed(m, ClosedByClient)
		}
	case parser.ATReady:
		m.ready(now)
	case parser.ATWifiConnected, parser.ATWifiGotIP, parser.ATWifiDisconnect:
		m.wifi(now, ev.Kind)
	default:
		m.reply(now, ev)
	}
}

// reply handles results that belong to the command in the slot.
func (m *Machine) reply(now time.Time, ev *parser.ATEvent) {
	switch ev.Kind {
	case parser.ATOK:
		switch m.slot {
		case SlotAwaitOK:
			if m.cmd == CmdSend {
				m.slot = SlotAwaitPrompt
				m.cmdDeadline = now.Add(m.cfg.CommandTimeout)
				return
			}
			m.complete(now, true, ev)
		}
	case parser.ATError, parser.ATFail:
		if m.slot == SlotAwaitOK || m.slot == SlotAwaitPrompt {
			m.fail(now, FailError)
			m.complete(now, false, ev)
		}
	case parser.ATBusyP, parser.ATBusyS:
		if m.slot == SlotAwaitOK {
			m.busy(now)
		}
	case parser.ATPrompt:
		if m.slot == SlotAwaitPrompt || (m.slot == SlotAwaitOK && m.cmd == CmdSend) {
			m.prompt(now)
		}
	case parser.ATRecv:
		if m.slot == SlotAwaitSendOK {
			m.recvSeen = true
			m.sawRecv = true
			if m.resend != resendNone && !m.cmdDeadline.IsZero() {
				m.cmdDeadline = now.Add(m.cfg.SendOKTimeout) // it was payload: the result follows
			}
		}
	// The result may overtake the writer pump's report that the payload is
	// written: the modem has it all once it says Recv, so it counts.
	case parser.ATSendOK:
		if m.slot == SlotAwaitSendOK && (m.recvSeen || !m.sawRecv) {
			m.sendResult(now, true)
		} else if m.slot == SlotAwaitSendOK {
			m.resultNoRecv = true
		}
	case parser.ATSendFail, parser.ATSendCanceled:
		if m.slot == SlotAwaitSendOK {
			m.fail(now, FailSendFail)
			m.sendResult(now, false)
		}
	case parser.ATLine, parser.ATLinkInvalid, parser.ATUnlink:
		if m.state == ModemServing && m.slot != SlotIdle && m.cmdLen > 2 && string(ev.Data) == string(m.cmdBuf[:m.cmdLen-2]) {
			// The modem echoes the command: echo is on again, so it
			// rebooted since ATE0 and its "ready" was lost on the line.
			// The command's answer still comes (a prompt must get its
			// payload); the modem is configured again after it.
			m.echoed = true
			return
		}
		if m.slot == SlotAwaitOK {
			m.line(now, ev)
		}
	}
}

func (m *Machine) fail(now time.Time, f Failure) {
	m.note(Note{Kind: NoteATFailure, Failure: f, Cmd: m.cmd, Link: m.cmdLink})
}

// issue puts a command line in the slot and queues it for writing.
func (m *Machine) issue(now time.Time, c Cmd, link int, line []byte) {
	m.lastIssue = now
	m.cmd = c
	m.cmdLink = link
	if link >= 0 && link < MaxLinks {
		m.cmdLinkGen = m.links[link].gen
	}
	m.cmdLen = copy(m.cmdBuf[:], line)
	m.retry = false
	m.reissue(now)
}

func (m *Machine) reissue(now time.Time) {
	m.slot = SlotAwaitOK
	m.recvSeen, m.resultNoRecv = false, false
	m.resend = resendNone
	m.cmdDeadline = time.Time{}
	m.queueOut(m.cmdBuf[:m.cmdLen])
}

// written runs when everything queued has been written: deadlines start now.
func (m *Machine) written(now time.Time) {
	switch m.slot {
	case SlotAwaitOK:
		m.cmdIssued = now
		m.cmdDeadline = now.Add(m.cmdTimeout())
	case SlotAwaitSendOK:
		d := m.cfg.SendOKTimeout
		if m.resend != resendNone && !m.recvSeen {
			d = m.cfg.CommandTimeout // a modem that collects answers Recv at once
		}
		m.cmdDeadline = now.Add(d)
	}
}

func (m *Machine) cmdTimeout() time.Duration {
	if m.cmd == CmdJoin {
		return m.cfg.JoinTimeout
	}
	return m.cfg.CommandTimeout
}

// linkGone reports whether the command in the slot is for a link
// (AT+CIPSEND, AT+CIPCLOSE) that has closed since it was issued.
func (m *Machine) linkGone() bool {
	if m.cmd != CmdSend && m.cmd != CmdClose {
		return false
	}
	l := &m.links[m.cmdLink]
	return l.gen != m.cmdLinkGen || l.state == LinkFree
}

// busy: the modem refused the command; try it again after a back-off.
func (m *Machine) busy(now time.Time) {
	m.fail(now, FailBusy)
	m.busyRun++
	backoff := 20 * time.Millisecond << min(m.busyRun-1, 5) // 20 ms .. 640 ms
	m.slot = SlotIdle
	m.retry = true
	m.retryAt = now.Add(backoff)
	m.cmdDeadline = time.Time{}
	if m.busyRun > 40 { // a storm that does not clear (about 20 s)
		m.busyRun = 0
		m.retry = false
		m.recover(now, true)
	}
}

// complete ends the command in the slot with its final result.
func (m *Machine) complete(now time.Time, ok bool, ev *parser.ATEvent) {
	c, link := m.cmd, m.cmdLink
	m.slot = SlotIdle
	m.cmdDeadline = time.Time{}
	m.busyRun = 0
	m.timeoutRun = 0
	m.owed = 0 // the modem reads commands
	if ok {
		m.note(Note{Kind: NoteCommand, Cmd: c, Link: link, Dur: now.Sub(m.cmdIssued)})
	}
	switch c {
	case CmdSend: // ERROR to AT+CIPSEND: the link is not valid (closed meanwhile)
		if l := &m.links[link]; l.gen == m.cmdLinkGen {
			l.closed(m, ClosedSendFailed)
		}
		m.sendLen = 0
	case CmdClose:
		// OK, ERROR and "UNLINK" all leave the link closed.
		if l := &m.links[link]; l.gen == m.cmdLinkGen && l.state != LinkFree {
			l.closed(m, l.closeReason)
		}
	default:
		m.bringupResult(now, ok, ev)
	}
}

// prompt: the modem waits for the announced payload. Write exactly that
// many bytes. If the link changed hands since the announcement, the chunk
// belongs to a client that is gone: send filler instead and close the link.
func (m *Machine) prompt(now time.Time) {
	m.slot = SlotAwaitSendOK
	m.recvSeen, m.resultNoRecv = false, false
	m.cmdDeadline = time.Time{}
	l := &m.links[m.sendLink]
	if l.gen != m.sendGen {
		m.queueOut(filler[:m.sendLen])
		if l.state != LinkFree {
			l.startClose(m, now, ClosedSendFailed)
		}
		return
	}
	m.queueOut(m.send[:m.sendLen])
}

// sendResult ends a chunk's send.
func (m *Machine) sendResult(now time.Time, ok bool) {
	m.slot = SlotIdle
	m.cmdDeadline = time.Time{}
	m.busyRun = 0
	m.timeoutRun = 0
	l := &m.links[m.sendLink]
	m.sendLen = 0
	filler := m.resend == resendFiller
	m.resend = resendNone
	if l.gen != m.sendGen || filler {
		return
	}
	if !ok { // SEND FAIL: the modem reports the link's CLOSED next
		l.lingerClose(m, now, ClosedSendFailed)
		return
	}
	d := now.Sub(m.cmdIssued)
	m.note(Note{Kind: NoteCommand, Cmd: CmdSend, Link: m.sendLink, Dur: d})
	if l.state == LinkSending {
		l.sends++
		l.wireDur += d
	}
	l.sent(m, now, m.sendDone)
}

// commandTimeout: the slot's deadline passed without a result.
func (m *Machine) commandTimeout(now time.Time) {
	m.fail(now, FailTimeout)
	m.timeoutRun++
	slot, c := m.slot, m.cmd
	m.slot = SlotIdle
	m.cmdDeadline = time.Time{}
	if c == CmdSend {
		l := &m.links[m.sendLink]
		live := l.gen == m.sendGen && l.state != LinkFree
		resend := m.resend
		m.resend = resendNone
		retry := m.timeoutRun < 3 || m.state != ModemServing
		// The prompt or the result was lost (or is late). A modem that
		// answered OK collects the payload, and one whose answer is lost
		// may: the chunk itself goes if no line in it could run as a
		// command, so that a client whose chunk the modem takes gets its
		// own bytes. Otherwise a modem that may be collecting gets filler,
		// which without a line end is harmless as command input, and the
		// link is given up. A result without "Recv" means the modem had
		// the whole payload and "Recv" was lost: nothing to complete then.
		switch {
		case !retry:
			if slot == SlotAwaitPrompt || slot == SlotAwaitOK {
				m.owed = m.sendLen // recovery's probes complete it (modem_bringup.go)
			}
		case resend != resendNone:
			// What was written met no Recv: the modem was not collecting
			// and holds it in its line buffer. A probe takes the ERROR
			// that makes, not a real command.
			if live {
				l.startClose(m, now, ClosedSendFailed)
			}
			m.sendLen = 0
			m.issue(now, CmdProbe, -1, append(m.cmdBuf[:0], "AT\r\n"...))
			return
		case (slot == SlotAwaitPrompt || slot == SlotAwaitOK) && live && inert(m.send[:m.sendLen]):
			m.resendPayload(resendData, m.send[:m.sendLen])
			return
		case slot == SlotAwaitPrompt || slot == SlotAwaitOK || (slot == SlotAwaitSendOK && !m.recvSeen && !m.resultNoRecv):
			if live {
				l.startClose(m, now, ClosedSendFailed)
			}
			m.resendPayload(resendFiller, filler[:m.sendLen])
			return
		}
		if live {
			l.startClose(m, now, ClosedSendFailed)
		}
		m.sendLen = 0
	}
	if c == CmdClose {
		if l := &m.links[m.cmdLink]; l.gen == m.cmdLinkGen && l.state != LinkFree {
			l.closed(m, l.closeReason)
		}
	}
	if m.timeoutRun >= 3 && m.state == ModemServing {
		m.timeoutRun = 0
		m.recover(now, true)
		return
	}
	if m.state != ModemServing {
		m.bringupTimeout(now)
	} else {
		m.wifiTimeout(now) // wifi.go
	}
}

// resendKind says what was written after a lost prompt or result.
type resendKind uint8

const (
	resendNone   resendKind = iota
	resendData              // the chunk itself
	resendFiller            // filler in its place
)

// resendPayload writes b as the payload of the send in flight, whose
// prompt or result was lost, and waits for the modem's Recv and result:
// a command now could reach a modem still busy with the payload.
func (m *Machine) resendPayload(k resendKind, b []byte) {
	m.resend = k
	m.slot = SlotAwaitSendOK
	m.recvSeen, m.resultNoRecv = false, false
	m.queueOut(b)
}

// inert reports whether b holds no line that a modem reading commands
// would run: none begins with "AT", in either case (the first line may
// continue a line in the modem's buffer, which is empty between commands).
func inert(b []byte) bool {
	for i := 0; i+1 < len(b); i++ {
		if (i == 0 || b[i-1] == '\n') && b[i]|0x20 == 'a' && b[i+1]|0x20 == 't' {
			return false
		}
	}
	return true
}

// ipdOwner returns the link an +IPD frame belongs to, or -1 to drop it.
// With AT+CIPDINFO=1 a frame carries its client's address: a frame whose
// link id was garbled on the line goes to the link that has the address,
// and one whose address is its link's client's no more is dropped, so that
// no client's bytes reach another client's link.
func (m *Machine) ipdOwner(ev *parser.ATEvent) int {
	id := ev.Link
	if id < 0 || id >= MaxLinks {
		return -1
	}
	if len(ev.IP) == 0 && ev.Port == 0 {
		return id // no address to check
	}
	has := func(l *link) bool {
		return l.state != LinkFree && l.ipLen > 0 && l.port == ev.Port && bytes.Equal(l.ip[:l.ipLen], ev.IP)
	}
	if has(&m.links[id]) {
		return id
	}
	for i := range m.links {
		if has(&m.links[i]) {
			return i
		}
	}
	if l := &m.links[id]; l.state != LinkFree && l.ipLen > 0 {
		return -1
	}
	return id
}

// resync follows a payload whose length was garbled on the line: the
// scanner skipped the wrong bytes, perhaps a client's connect notice and
// request with them. Every link the machine takes for free is taken as
// open: one the modem has is served if its client sends more and closed
// by the idle deadline if not; one it has not is closed by that deadline
// too, which the modem answers with ERROR.
func (m *Machine) resync(now time.Time) {
	for i := range m.links {
		if l := &m.links[i]; l.state == LinkFree {
			l.adopt(m, now)
		}
	}
}

// ready handles "ready": expected after AT+RST, otherwise a reset.
func (m *Machine) ready(now time.Time) {
	if m.waitReady {
		m.waitReady = false
		m.cmdDeadline = time.Time{}
		m.afterBoot(now)
		return
	}
	if m.state == ModemBooting || m.state == ModemSyncing {
		// The boot we are syncing with. A probe in flight may still be
		// answered: afterBoot's settling pause lets that answer pass.
		m.slot = SlotIdle
		m.retry = false
		m.cmdDeadline = time.Time{}
		m.afterBoot(now)
		return
	}
	// An unexpected reboot: everything the modem held is gone.
	m.note(Note{Kind: NoteModemReset, Link: -1})
	m.dropAll(ClosedReset)
	m.afterBoot(now)
}

// recover fails everything in flight and runs bring-up from the start.
func (m *Machine) recover(now time.Time, reset bool) {
	m.setState(ModemRecovering)
	if reset {
		m.note(Note{Kind: NoteModemReset, Link: -1})
	}
	m.dropAll(ClosedReset)
	m.step = stepProbe
	m.stepTries = 0
	m.waitReady = false
	m.retryAt = now.Add(100 * time.Millisecond)
}

// dropAll forgets every link and the command in flight.
func (m *Machine) dropAll(reason CloseReason) {
	for i := range m.links {
		if m.links[i].state != LinkFree {
			m.links[i].closed(m, reason)
		}
	}
	if m.writing { // the segment being written finishes; nothing after it
		m.nOut, m.out[1] = 1, nil
	} else {
		m.nOut, m.out[0], m.out[1] = 0, nil, nil
	}
	m.slot = SlotIdle
	m.retry = false
	m.cmdDeadline = time.Time{}
	m.sendLen = 0
	m.resend = resendNone
	m.echoed = false
	m.sc.Reset()
	m.ipdLink, m.afterPayload, m.stallAt = -1, false, time.Time{}
}

// schedule issues the next command when the slot is free.
func (m *Machine) schedule(now time.Time) {
	if m.slot != SlotIdle || m.nOut > 0 || m.waitReady {
		return
	}
	if m.echoed {
		m.echoed = false
		if m.state == ModemServing {
			m.ready(now) // the reboot whose "ready" was lost
			return
		}
	}
	if !m.retryAt.IsZero() {
		if now.Before(m.retryAt) {
			return
		}
		m.retryAt = time.Time{}
	}
	if m.state == ModemBooting { // quiet: the modem booted before we started
		m.setState(ModemSyncing)
	}
	if m.retry {
		m.retry = false
		if !m.linkGone() {
			m.reissue(now)
			return
		}
		// The link closed while its command waited out a busy modem:
		// a send or close for it now would reach a free id, or the
		// next client's.
		m.sendLen = 0
	}
	if m.state != ModemServing {
		m.bringup(now)
		return
	}
	if m.wifiSchedule(now) { // wifi.go: addresses, joins, the set-up access point, mDNS
		return
	}
	for i := range m.links {
		if l := &m.links[i]; l.state == LinkClosing && !l.closeIssued && !now.Before(l.lingerUntil) {
			l.closeIssued = true
			line := strconv.AppendInt(append(m.cmdBuf[:0], "AT+CIPCLOSE="...), int64(i), 10)
			m.issue(now, CmdClose, i, append(line, "\r\n"...))
			return
		}
	}
	for k := 1; k <= MaxLinks; k++ {
		i := (m.rr + k) % MaxLinks
		if l := &m.links[i]; l.hasOutput() {
			m.rr = i
			if m.announce(now, l) {
				return
			}
		}
	}
	if !m.shutdown && !now.Before(m.lastIssue.Add(m.cfg.Heartbeat)) {
		// Nothing said for a while: a probe shows the modem is alive and
		// has not rebooted unseen (it would echo the probe).
		m.issue(now, CmdProbe, -1, append(m.cmdBuf[:0], "AT\r\n"...))
	}
}

// announce fills the chunk buffer from link l and issues AT+CIPSEND. It
// reports false if the link had nothing ready after all (and scheduling
// should go on with the next link).
func (m *Machine) announce(now time.Time, l *link) bool {
	n, done := l.fill(m, now, m.send[:])
	if n == 0 {
		if done { // an empty final piece: the response is complete as it is
			l.sent(m, now, true)
			m.schedule(now) // the link may now close or take its next request
			return true
		}
		return false
	}
	if n > 1 && commandLike(m.send[:n]) {
		// A chunk that reads as a command line would run as one on a
		// modem that is not collecting payload (and an emulator flags it
		// as a command sent in a payload): its last byte goes with the
		// link's next chunk.
		n--
		l.held, l.holding, l.heldLast = m.send[n], true, done
		done = false
	}
	m.sendLen, m.sendLink, m.sendGen, m.sendDone = n, l.id, l.gen, done
	l.wireBytes += int64(n)
	line := strconv.AppendInt(append(m.cmdBuf[:0], "AT+CIPSEND="...), int64(l.id), 10)
	line = strconv.AppendInt(append(line, ','), int64(n), 10)
	m.issue(now, CmdSend, l.id, append(line, "\r\n"...))
	return true
}

// commandLike reports whether b reads as an AT command line: it begins
// with "AT" (in either case) and ends with CR LF.
func commandLike(b []byte) bool {
	return len(b) >= 4 && b[0]|0x20 == 'a' && b[1]|0x20 == 't' && b[len(b)-2] == '\r' && b[len(b)-1] == '\n'
}

// filler completes a payload that must not carry data: spaces, no line end.
var filler = func() (b [MaxSend]byte) {
	for i := range b {
		b[i] = ' '
	}
	return
}()

// Shutdown stops accepting requests: idle links are closed now, busy ones
// after their response. Done reports when every link is free.
func (m *Machine) Shutdown(now time.Time) {
	m.shutdown = true
	for i := range m.links {
		l := &m.links[i]
		if l.state == LinkReceiving && !l.p.Started() {
			l.startClose(m, now, ClosedShutdown)
		}
	}
	m.schedule(now)
}

// Done reports whether, after Shutdown, every link is free and the slot idle.
func (m *Machine) Done() bool {
	if !m.shutdown {
		return false
	}
	if m.state != ModemServing {
		return true
	}
	for i := range m.links {
		if m.links[i].state != LinkFree {
			return false
		}
	}
	return m.slot == SlotIdle && m.nOut == 0
}
