package sim

import (
	"bytes"
	"container/heap"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/espgate/espgate/internal/serialtext"
)

// The chip is the one goroutine that owns firmware state. It is event
// driven: bytes from the line, clients from the listener, link events and
// its own scheduled events; it never sleeps and never blocks on I/O.

type phase int

const (
	phaseBoot    phase = iota // booting: input is ignored
	phaseCmd                  // reading command lines
	phasePayload              // collecting a CIPSEND payload
)

type busyState int

const (
	busyNone busyState = iota
	busyCmd            // a command executes (or its prompt/payload is pending)
	busySend           // Recv printed, SEND OK/FAIL pending ("busy s..." in 1.x)
)

// maxLine is the longest command line accepted, CR LF included (§2.1).
const maxLine = 256

// flash is what the module keeps across resets.
type flash struct {
	hasCreds  bool
	ssid, pwd string
	autoconn  bool
	mode      int
	uart      uartCfg
	sysmsg    int  // 1.x AT+SYSMSG_DEF
	sysstore  bool // 2.x AT+SYSSTORE; kept across resets here (unconfirmed)
	ap        apCfg
}

type uartCfg struct {
	baud, data, stop, parity, flow int
}

func (u uartCfg) rate() rate {
	bits := 1 + float64(u.data) + []float64{0, 1, 1.5, 2}[u.stop]
	if u.parity != 0 {
		bits++
	}
	return rate{baud: u.baud, frameBits: bits}
}

type apCfg struct {
	ssid, pwd                 string
	chl, ecn, maxConn, hidden int
}

type event struct {
	at    time.Time
	seq   uint64
	epoch uint64
	fn    func()
}

type evHeap []*event

func (h evHeap) Len() int { return len(h) }
func (h evHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h evHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *evHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

type chip struct {
	m   *Modem
	p   Profile
	t   Timing
	cfg *Config

	events evHeap
	seq    uint64
	epoch  uint64

	garbage                                    dice
	dReset, dBusy, dSendFail, dFailOK, dNoSend dice
	dDrop, dFlip, dInterleave, dGlue, dVanish  dice
	dWiFi                                      dice

	phase       phase
	ready       bool
	busy        busyState
	bootTxStart int64 // queue offset where the current boot's output begins
	firstBoot   bool

	// the command line being received
	line           []byte
	lineLen        int
	lineKnow       int64      // modem bytes the host had read when it wrote the line's first byte
	cmdKnow        int64      // lineKnow of the command executing
	readyEnd       int64      // queue offset just past this boot's "ready"
	informedAt     int64      // after a reset: end of the first final reply after "ready"
	bootLines      int        // lines during this boot sent after the host read its output
	lastReplyEnd   int64      // queue offset after the last command's final reply
	replyEnds      [256]int64 // the last final replies' ends, a ring at replyNext
	replyNext      int
	lineAfterSend  bool // began right after a payload, before SEND OK/FAIL
	lineBusy       bool // began while busy
	lineBooting    bool // began while booting
	lineGarbled    bool // holds bytes sent at the wrong rate: noise, not a violation
	lineLast       time.Time
	echoSplice     int // interleave fault: splice at this echo position
	echoSpliced    bool
	holdWakeArmed  bool
	surplusWatch   bool // a payload just completed; SEND OK/FAIL not yet printed
	stormLeft      int
	sendsSinceBoot int

	flash flash
	// runtime state, back to defaults on every boot
	echo       bool
	mux        int
	server     bool
	serverPort int
	maxConn    int
	sto        int
	recvMode   int
	dinfo      bool
	sysmsg     int
	mode       int
	assoc      bool
	hadLink    bool
	uart       uartCfg
	ap         apCfg
	wifiGen    int
	mdns       MDNSInfo
	// apBackAt: until then the access point is out of reach (DropWiFi).
	// Not runtime state: a reset does not bring the access point back.
	apBackAt time.Time

	links [MaxLinks]*link
	// goneAt is the queue offset just past the notice that a free id is
	// free: its CLOSED, or "ready" after a boot.
	goneAt [MaxLinks]int64
	async  []asyncMsg
	send   *sendOp

	// lineFaultAt is the queue offset of the last byte a line fault
	// (drop, flip) hit; firstFault that of the first in the last write
	// (-1: none); idFaultAt that of the last fault in an +IPD header or a
	// CONNECT notice, which can make the host take a link for open.
	lineFaultAt, firstFault, idFaultAt int64
}

func factoryFlash(p Profile, cfg *Config) flash {
	f := flash{
		autoconn: true,
		mode:     1,
		uart:     uartCfg{baud: cfg.Baud, data: 8, stop: 1},
		sysstore: true,
		ap:       apCfg{ssid: "ESP_A1B2C3", chl: 1, ecn: 0, maxConn: 4},
	}
	if p == ESPAT {
		f.uart.flow = 1 // §9: 2.x default flow control 1 (RTS)
	}
	return f
}

func newChip(m *Modem) *chip {
	cfg := &m.cfg
	f := cfg.Faults
	c := &chip{
		m:           m,
		p:           cfg.Profile,
		t:           m.timing,
		cfg:         cfg,
		garbage:     newDice(cfg.Seed, streamGarbage, 1),
		dReset:      newDice(cfg.Seed, streamReset, f.Reset),
		dBusy:       newDice(cfg.Seed, streamBusy, f.Busy),
		dSendFail:   newDice(cfg.Seed, streamSendFail, f.SendFail),
		dFailOK:     newDice(cfg.Seed, streamFailOK, f.FailOK),
		dNoSend:     newDice(cfg.Seed, streamNoSendOK, f.NoSendOK),
		dDrop:       newDice(cfg.Seed, streamDrop, f.Drop),
		dFlip:       newDice(cfg.Seed, streamFlip, f.Flip),
		dInterleave: newDice(cfg.Seed, streamInterleave, f.Interleave),
		dGlue:       newDice(cfg.Seed, streamGlue, f.GlueClosed),
		dVanish:     newDice(cfg.Seed, streamVanish, f.Vanish),
		dWiFi:       newDice(cfg.Seed, streamWiFi, f.WiFiDrop),
		firstBoot:   true,
	}
	c.flash = factoryFlash(c.p, cfg)
	c.uart = c.flash.uart
	if cfg.Joined {
		c.flash.hasCreds = true
		c.flash.ssid, c.flash.pwd = cfg.SSID, cfg.Password
	}
	return c
}

// after schedules fn after d; events of an earlier boot never run.
func (c *chip) after(d time.Duration, fn func()) {
	c.seq++
	heap.Push(&c.events, &event{at: time.Now().Add(d), seq: c.seq, epoch: c.epoch, fn: fn})
}

func (c *chip) run() {
	defer c.m.wg.Done()
	defer c.shutdown()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	precise := c.cfg.PreciseTiming && !c.cfg.Unpaced
	fine := make(chan struct{}, 1) // a precise wait reached its deadline
	var fineAt time.Time           // ... the deadline of the last one started
	for {
		c.runDue()
		var tc <-chan time.Time
		if len(c.events) > 0 {
			at := c.events[0].at
			d := time.Until(at)
			switch {
			case !precise:
				timer.Reset(d)
				tc = timer.C
			case d > preciseMargin:
				timer.Reset(d - preciseMargin)
				tc = timer.C
			case !at.Equal(fineAt):
				// The last stretch, off the chip's goroutine so that input
				// is taken meanwhile.
				fineAt = at
				c.m.wg.Add(1)
				go func() {
					defer c.m.wg.Done()
					if fineWait(at, c.m.done) {
						signal(fine)
					}
				}()
			}
		}
		select {
		case <-fine:
		case ch := <-c.m.rxCh:
			c.input(ch)
		case conn := <-c.m.acceptCh:
			c.accept(conn)
		case ev := <-c.m.linkCh:
			c.linkEvent(ev)
		case f := <-c.m.ctlCh:
			f(c)
		case <-c.m.line.drained:
		case <-tc:
		case <-c.m.done:
			return
		}
		c.flush()
	}
}

func (c *chip) runDue() {
	for len(c.events) > 0 && !c.events[0].at.After(time.Now()) {
		ev := heap.Pop(&c.events).(*event)
		if ev.epoch != c.epoch {
			continue
		}
		if !c.cfg.Unpaced {
			c.m.stats.late(time.Since(ev.at))
		}
		ev.fn()
		c.flush()
	}
}

func (c *chip) shutdown() {
	for i, l := range c.links {
		if l != nil {
			l.abort()
			c.links[i] = nil
		}
	}
}

// write queues bytes to the host, through the line faults (drop, flip).
// It returns the queue offset just past them.
func (c *chip) write(s string) int64 {
	b := []byte(s)
	c.firstFault = -1
	if c.dDrop.p > 0 || c.dFlip.p > 0 {
		base := c.m.line.queuedOffset()
		out := b[:0]
		hit := func() {
			c.lineFaultAt = base + int64(len(out))
			if c.firstFault < 0 {
				c.firstFault = c.lineFaultAt
			}
		}
		for _, x := range b {
			if c.dDrop.roll() {
				c.m.stats.fault(FaultDrop)
				hit()
				continue
			}
			if c.dFlip.roll() {
				x ^= 1 << c.dFlip.intn(8)
				c.m.stats.fault(FaultFlip)
				hit()
			}
			out = append(out, x)
		}
		b = out
	}
	return c.m.line.enqueue(b)
}

// violate records a host protocol violation. know is how much output the
// host had read when it wrote the offending bytes. Having read is not having
// parsed, so after a reset the host counts as informed only once it had
// read a final reply written after "ready"; what it wrote before was in
// flight, not a violation. Likewise a malformed line, or bytes after a
// payload, that follow a final reply a line fault (drop, flip) hit.
func (c *chip) violate(kind ViolationKind, know int64, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	if kind != ViolBeforeReady && !c.firstBoot && know < c.informedAt {
		c.m.logf("sim: not counted (sent before the reset was visible): %s: %s", kind, detail)
		return
	}
	if (kind == ViolMalformed || kind == ViolPayloadLong) && c.lineFaultAt > 0 && c.lineFaultAt >= c.replyEndBefore(know)-64 && c.lineFaultAt < know {
		// A line fault hit the last final reply the host had read when
		// it wrote the line (or came after it): not knowing whether the
		// modem took its command, a host may complete a payload that was
		// never asked for. Every line of that payload counts as written
		// with the same knowledge, though the modem answers each.
		c.m.logf("sim: not counted (a line fault hit the reply the host read): %s: %s", kind, detail)
		return
	}
	c.m.stats.violation(Violation{Time: time.Now(), Kind: kind, Detail: detail})
	c.m.logf("sim: violation %s: %s", kind, detail)
}

// boot (re)starts the firmware: links dropped without CLOSED, runtime state
// to defaults, garbage, and "ready" after Timing.Boot (§3.1, §3.2).
func (c *chip) boot(reset bool) {
	c.epoch++
	c.events = nil
	for i, l := range c.links {
		if l != nil {
			l.abort()
			c.links[i] = nil
		}
	}
	c.async = nil
	c.send = nil
	c.phase = phaseBoot
	c.ready = false
	c.busy = busyNone
	c.line = c.line[:0]
	c.lineLen = 0
	c.surplusWatch = false
	c.holdWakeArmed = false
	c.stormLeft = 0
	c.sendsSinceBoot = 0
	c.firstBoot = !reset
	c.informedAt = math.MaxInt64
	c.bootLines = 0

	c.echo = true
	c.mux = 0
	c.server = false
	c.serverPort = 333
	c.maxConn = MaxLinks
	c.sto = 180
	c.recvMode = 0
	c.dinfo = false
	c.sysmsg = 0
	if c.p == NonOS {
		c.sysmsg = c.flash.sysmsg
	}
	c.mode = c.flash.mode
	c.assoc = false
	c.hadLink = false
	c.ap = c.flash.ap
	c.mdns = MDNSInfo{}
	c.wifiGen++
	if c.uart != c.flash.uart {
		c.uart = c.flash.uart
		c.m.line.enqueueRate(c.uart.rate())
	}
	if reset {
		c.m.trace.note(time.Now(), "reset")
	}

	c.bootTxStart = c.m.line.queuedOffset()
	c.write(c.bootGarbage())
	c.after(c.t.Boot, func() {
		// Bytes that came during the boot went to the ROM at its own baud
		// rate: a line begun then does not go on after "ready".
		c.resetLine()
		c.readyEnd = c.write(msgReady)
		for i := range c.goneAt {
			c.goneAt[i] = c.readyEnd
		}
		c.ready = true
		c.phase = phaseCmd
		if c.firstBoot {
			c.autoConnect(0) // Config.Joined: associated from the start
		} else {
			c.autoConnect(c.t.AutoConnect)
		}
	})
}

// bootGarbage is the ROM banner at 74880 baud as seen at 115200: 50-300
// non-ASCII bytes, sometimes CR LF (§3.1).
func (c *chip) bootGarbage() string {
	g := c.garbage
	n := 50 + g.intn(251)
	b := make([]byte, 0, n)
	for len(b) < n {
		if g.intn(24) == 0 && len(b)+2 <= n {
			b = append(b, '\r', '\n')
			continue
		}
		b = append(b, byte(0x80+g.intn(0x80)))
	}
	return string(b)
}

// autoConnect reconnects from stored credentials after d (§3.1).
func (c *chip) autoConnect(d time.Duration) {
	if !c.flash.autoconn || !c.flash.hasCreds || !c.staEnabled() || c.assoc {
		return
	}
	gen := c.wifiGen
	var try func()
	try = func() {
		if gen != c.wifiGen || c.assoc || !c.staEnabled() {
			return
		}
		if c.flash.ssid != c.cfg.SSID || c.flash.pwd != c.cfg.Password {
			return
		}
		if c.apGone() { // the station keeps trying until the AP is back
			c.after(time.Until(c.apBackAt)+c.t.AutoConnect, try)
			return
		}
		c.assoc = true
		c.hadLink = false
		c.queueText(msgWifiConn)
		c.queueText(msgWifiIP)
	}
	c.after(d, try)
}

// apGone reports whether the access point is out of reach (DropWiFi).
func (c *chip) apGone() bool { return time.Now().Before(c.apBackAt) }

func (c *chip) staEnabled() bool { return c.mode == 1 || c.mode == 3 }
func (c *chip) apActive() bool   { return c.mode == 2 || c.mode == 3 }
func (c *chip) netUp() bool      { return c.assoc || c.apActive() }

// input handles bytes that crossed the line from the host.
func (c *chip) input(ch rxChunk) {
	b := ch.b
	c.m.stats.update(func(s *Stats) { s.BytesFromHost += int64(len(b)) })
	for len(b) > 0 {
		if c.phase == phasePayload {
			n := c.payloadBytes(b)
			b = b[n:]
			continue
		}
		c.lineByte(b[0], ch.know, ch.garbled)
		b = b[1:]
	}
}

func (c *chip) lineByte(ch byte, know int64, garbled bool) {
	if c.lineLen == 0 {
		c.lineKnow = know
		c.lineGarbled = false
		c.lineAfterSend = c.surplusWatch
		c.lineBusy = c.busy != busyNone
		c.lineBooting = !c.ready
		c.echoSplice, c.echoSpliced = 0, false
		c.holdWakeArmed = false
		if c.ready && c.echo && !c.lineBusy && c.dInterleave.roll() {
			c.echoSplice = 1 + c.dInterleave.intn(8)
		}
	}
	c.lineLen++
	c.lineGarbled = c.lineGarbled || garbled
	if len(c.line) <= maxLine {
		c.line = append(c.line, ch)
	}
	c.lineLast = time.Now()
	if c.ready && c.echo && !c.lineBusy && !c.lineBooting {
		c.write(c.p.echo(ch))
		// interleave fault: unsolicited output inside the echo (§2.3, Q1)
		if c.echoSplice > 0 && !c.echoSpliced && c.lineLen >= c.echoSplice && ch != '\n' && len(c.async) > 0 {
			c.echoSpliced = true
			c.m.stats.fault(FaultInterleave)
			c.emitAsync()
		}
	}
	if ch == '\n' {
		c.lineDone()
	}
}

func (c *chip) resetLine() {
	c.line = c.line[:0]
	c.lineLen = 0
}

// wellFormed reports whether a complete line is a proper command line.
func wellFormed(line []byte, n int) bool {
	return n >= 4 && n <= maxLine && len(line) == n && line[n-2] == '\r' && line[0] == 'A' && line[1] == 'T'
}

func (c *chip) lineDone() {
	raw := bytes.Clone(c.line)
	n := c.lineLen
	afterSend, busyStart, booting := c.lineAfterSend, c.lineBusy, c.lineBooting
	know, noise := c.lineKnow, c.lineGarbled
	c.resetLine()
	ok := wellFormed(raw, n)
	show := quoteLine(raw, n)
	violate := func(kind ViolationKind, format string, args ...any) {
		if noise { // the host spoke at the wrong rate: line noise
			c.m.logf("sim: not counted (garbled by a rate mismatch): %s: %s", kind, fmt.Sprintf(format, args...))
			return
		}
		c.violate(kind, know, format, args...)
	}

	if booting || !c.ready {
		// The first boot always counts: the host must wait for "ready".
		// During a reset, the first line sent after the host read the
		// garbage may have raced it; further lines count.
		if c.firstBoot {
			violate(ViolBeforeReady, "%s while booting", show)
		} else if know > c.bootTxStart {
			if c.bootLines++; c.bootLines > 1 {
				violate(ViolBeforeReady, "%s while booting", show)
			}
		}
		return
	}
	if busyStart || c.busy != busyNone {
		c.finalReply(c.write(c.p.busyLine(c.busy == busySend || c.surplusWatch)))
		if afterSend && !ok {
			violate(ViolPayloadLong, "%s after the payload", show)
		} else {
			violate(ViolBusy, "%s while busy", show)
		}
		return
	}
	if c.stormLeft > 0 {
		c.stormLeft--
		c.finalReply(c.write(msgBusyP))
		return
	}
	if !ok {
		switch {
		case afterSend:
			violate(ViolPayloadLong, "%s after the payload", show)
		default:
			violate(ViolMalformed, "%s", show)
		}
		c.finalReply(c.write(msgError))
		return
	}
	cmd := string(raw[:n-2])
	if c.dReset.roll() {
		c.m.stats.fault(FaultReset)
		c.m.stats.update(func(s *Stats) { s.Resets++ })
		c.m.logf("sim: fault: reset instead of %s", show)
		c.boot(true)
		return
	}
	if c.dWiFi.roll() && c.assoc {
		c.m.stats.fault(FaultWiFiDrop)
		c.m.logf("sim: fault: Wi-Fi drop")
		c.wifiDrop()
	}
	if c.dBusy.roll() {
		c.m.stats.fault(FaultBusy)
		c.stormLeft = c.dBusy.intn(3)
		c.finalReply(c.write(msgBusyP))
		return
	}
	c.cmdKnow = know
	c.startCommand(cmd)
}

// quoteLine renders a received line for diagnostics.
func quoteLine(raw []byte, n int) string {
	var f serialtext.SecretFilter
	s := string(serialtext.AppendEscaped(nil, f.Append(nil, raw)))
	if n > len(raw) {
		s += fmt.Sprintf("...(%d bytes)", n)
	}
	return `"` + s + `"`
}

func (c *chip) startCommand(cmd string) {
	c.m.stats.update(func(s *Stats) { s.Commands++ })
	c.busy = busyCmd
	d := c.t.Command
	if strings.HasPrefix(cmd, "AT+CIPSEND=") {
		d = c.t.Prompt
	}
	c.after(d, func() { c.execute(cmd) })
}

// reply ends the running command with its final bytes.
func (c *chip) reply(s string) {
	c.finalReply(c.write(s))
	c.busy = busyNone
}

// finalReply notes where the final reply to a host line (OK, ERROR, busy,
// SEND OK, ...) ends in the output.
func (c *chip) finalReply(end int64) {
	c.lastReplyEnd = end
	c.replyEnds[c.replyNext] = end
	c.replyNext = (c.replyNext + 1) % len(c.replyEnds)
	if c.ready && c.informedAt == math.MaxInt64 {
		c.informedAt = end
	}
}

// replyEndBefore returns the end of the last final reply the host had read
// when it had read know bytes. If the ring no longer holds it, the host
// wrote before reading hundreds of replies: MaxInt64, which excuses nothing.
func (c *chip) replyEndBefore(know int64) int64 {
	best := int64(-1)
	for _, e := range c.replyEnds {
		if e <= know && e > best {
			best = e
		}
	}
	if best < 0 {
		return math.MaxInt64
	}
	return best
}

// hostKnewGone reports whether the host must have known that link id was
// free when it sent the executing command: the notice came before the final
// reply to its previous command, and it had read that reply. (A notice only
// read does not count: the host may not have parsed it yet.)
//
// A line fault in the notice, or in the frame before it (whose garbled
// length can make the host's parser swallow the notice), excuses the host;
// so does one in a frame header or connect notice after it (whose garbled
// link id can make the host take the link for open again).
func (c *chip) hostKnewGone(id int) bool {
	garbled := c.lineFaultAt > 0 && c.lineFaultAt < c.goneAt[id] && c.goneAt[id]-c.lineFaultAt <= int64(c.cfg.MaxIPD)+64
	reopened := c.idFaultAt > c.goneAt[id] && c.idFaultAt < c.cmdKnow
	return c.goneAt[id] <= c.lastReplyEnd && c.cmdKnow >= c.lastReplyEnd && !garbled && !reopened
}

// Unsolicited output.

type asyncKind int

const (
	aText    asyncKind = iota // fixed text (WIFI ..., a late SEND OK)
	aConnect                  // <id>,CONNECT or +LINK_CONN
	aFrame                    // active-mode +IPD frame
	aNotify                   // passive-mode +IPD notification
	aClosed                   // <id>,CLOSED
)

type asyncMsg struct {
	kind asyncKind
	l    *link
	text string
	data []byte
}

func (c *chip) queueText(s string) { c.async = append(c.async, asyncMsg{kind: aText, text: s}) }

func (c *chip) queueLink(kind asyncKind, l *link, data []byte) {
	c.async = append(c.async, asyncMsg{kind: kind, l: l, data: data})
}

// canEmit reports whether unsolicited output may go out now: only between
// whole messages, never inside an echo, a command, a prompt or a send.
func (c *chip) canEmit() bool {
	if !c.ready || c.busy != busyNone || c.phase != phaseCmd {
		return false
	}
	if c.lineLen > 0 && c.echo && !c.lineBusy && !c.lineBooting {
		// A partial line is being echoed. Real firmware would splice; hold
		// back, but not forever if the host stalls mid-line.
		return time.Since(c.lineLast) >= PayloadIdle
	}
	return true
}

// flush emits pending unsolicited output while allowed and while the
// transmit buffer has room.
func (c *chip) flush() {
	for len(c.async) > 0 && c.canEmit() {
		if c.m.line.txBacklog() >= txRing {
			return // line.drained wakes the loop
		}
		c.emitAsync()
	}
	if len(c.async) > 0 && c.ready && c.busy == busyNone && c.phase == phaseCmd &&
		c.lineLen > 0 && c.echo && !c.holdWakeArmed {
		c.holdWakeArmed = true
		c.after(time.Until(c.lineLast.Add(PayloadIdle)), func() { c.holdWakeArmed = false })
	}
}

// emitAsync writes the first pending unsolicited message.
func (c *chip) emitAsync() {
	if len(c.async) == 0 {
		return
	}
	a := c.async[0]
	c.async[0] = asyncMsg{}
	c.async = c.async[1:]
	switch a.kind {
	case aText:
		c.write(a.text)
		if a.text == msgSendOK {
			c.m.stats.update(func(s *Stats) { s.SendOK++ })
		}
	case aConnect:
		if c.write(c.connectLine(a.l)); c.firstFault >= 0 {
			c.idFaultAt = c.firstFault
		}
	case aFrame:
		c.emitFrame(a.l, a.data)
	case aNotify:
		c.emitNotify(a.l)
	case aClosed:
		c.emitClosed(a.l)
	}
}

// dropAsync removes a link's pending data messages (frames, notifications).
func (c *chip) dropAsync(l *link, closedToo bool) {
	out := c.async[:0]
	for _, a := range c.async {
		if a.l == l && (a.kind == aFrame || a.kind == aNotify || (closedToo && a.kind == aClosed)) {
			continue
		}
		out = append(out, a)
	}
	clear(c.async[len(out):])
	c.async = out
}

// interleave is the fault of unsolicited output at a boundary inside a
// command's response (Q1): one pending message is spliced there.
func (c *chip) interleave() {
	if c.dInterleave.roll() && len(c.async) > 0 {
		c.m.stats.fault(FaultInterleave)
		c.emitAsync()
	}
}
