package sim

import (
	"fmt"
	"maps"
	"sync"
	"time"
)

// ViolationKind names a host protocol violation.
type ViolationKind string

// Host protocol violations the emulator detects.
const (
	// ViolPayloadLong: bytes after a CIPSEND payload that do not form a
	// well-formed command line (the firmware parses them as commands, Q25).
	ViolPayloadLong ViolationKind = "payload-long"
	// ViolPayloadShort: a CIPSEND payload still incomplete after the line was
	// idle for PayloadIdle; real firmware would wait forever (Q26).
	ViolPayloadShort ViolationKind = "payload-short"
	// ViolSendDeadLink: AT+CIPSEND for a link that is not connected, when
	// the host must already have known it: the link's CLOSED (or "ready"
	// after a reset, or the link was never connected) came before the final
	// reply to the host's previous command. A CIPSEND racing with an
	// in-flight CLOSED is not counted.
	ViolSendDeadLink ViolationKind = "send-dead-link"
	// ViolSendLength: AT+CIPSEND with a length outside 1..2048.
	ViolSendLength ViolationKind = "send-length"
	// ViolCommandInPayload: a payload that begins with "AT" and ends with
	// CR LF (or, still incomplete, contains a CR LF): the host most likely
	// sent a command while the firmware was collecting payload bytes.
	ViolCommandInPayload ViolationKind = "command-in-payload"
	// ViolMalformed: a line without "AT" prefix (including lower case), with
	// LF not preceded by CR, over 256 bytes, or empty.
	ViolMalformed ViolationKind = "malformed-line"
	// ViolBeforeReady: a line sent while the firmware boots: any during the
	// first boot; during a reset, the second and later lines sent after the
	// host read the boot garbage (the first may have raced it).
	ViolBeforeReady ViolationKind = "before-ready"
	// ViolBusy: a command line sent while a command or a send was still in
	// progress (answered "busy p..."/"busy s..."), or bytes sent between a
	// CIPSEND line and its prompt.
	ViolBusy ViolationKind = "during-busy"
)

// After a spontaneous reset (Modem.Reset, the reset faults), bytes the host
// wrote before it had read a final reply sent after "ready" were in flight
// and count as no violation of any kind but ViolBeforeReady.
//
// With line faults on (Faults.Drop, Faults.Flip) the host may miss what it
// was told: a malformed line or bytes after a payload that follow a final
// reply a line fault hit, and an AT+CIPSEND for a link whose CLOSED (or the
// frame before it) a line fault hit, are not counted either.

// PayloadIdle is how long an incomplete CIPSEND payload may stall before it
// is counted as ViolPayloadShort (wall time, also when Unpaced).
const PayloadIdle = time.Second

// Violation is one host protocol violation.
type Violation struct {
	Time   time.Time
	Kind   ViolationKind
	Detail string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s: %s", v.Time.Format("15:04:05.000000"), v.Kind, v.Detail)
}

// Stats are the modem's counters.
type Stats struct {
	LinksServed     int   // clients accepted and given a link id
	ClientsRejected int   // clients reset at once (no server, no network, no free link)
	BytesToHost     int64 // bytes transmitted on the line to the host
	BytesFromHost   int64 // bytes received on the line from the host
	ClientBytesIn   int64 // bytes received from TCP clients
	ClientBytesOut  int64 // bytes written to TCP clients
	Commands        int   // command lines executed
	Sends           int   // CIPSEND payloads received
	SendOK          int   // SEND OK printed
	SendFail        int   // SEND FAIL printed
	IPDFrames       int   // +IPD frames and passive notifications printed
	Resets          int   // reboots after the first boot (AT+RST, AT+RESTORE, Reset, faults)
	Violations      int   // host protocol violations
	// GarbledToHost and GarbledFromHost count bytes that crossed the line
	// while the host's rate and the modem's differed (see Host, OpenPTY).
	GarbledToHost, GarbledFromHost int64
	// ViolationsByKind counts violations per kind.
	ViolationsByKind map[ViolationKind]int
	// Faults counts injected faults by name (the names of ParseFaults).
	Faults map[string]int
	// Pacing is how late the paced line and the firmware's latencies came
	// (zero when Unpaced).
	Pacing PacingStats
}

type statsBox struct {
	mu    sync.Mutex
	s     Stats
	viols []Violation
}

func newStatsBox() *statsBox {
	return &statsBox{s: Stats{
		ViolationsByKind: map[ViolationKind]int{},
		Faults:           map[string]int{},
	}}
}

func (b *statsBox) update(f func(s *Stats)) {
	b.mu.Lock()
	f(&b.s)
	b.mu.Unlock()
}

// late records a timed action that came late past its deadline.
func (b *statsBox) late(late time.Duration) {
	b.mu.Lock()
	b.s.Pacing.add(late)
	b.mu.Unlock()
}

func (b *statsBox) fault(name string) {
	b.mu.Lock()
	b.s.Faults[name]++
	b.mu.Unlock()
}

func (b *statsBox) violation(v Violation) {
	b.mu.Lock()
	b.viols = append(b.viols, v)
	b.s.Violations++
	b.s.ViolationsByKind[v.Kind]++
	b.mu.Unlock()
}

func (b *statsBox) snapshot() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.s
	s.ViolationsByKind = maps.Clone(b.s.ViolationsByKind)
	s.Faults = maps.Clone(b.s.Faults)
	return s
}

func (b *statsBox) violations() []Violation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Violation(nil), b.viols...)
}
