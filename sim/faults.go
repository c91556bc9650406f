package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Faults are injected firmware and line misbehaviours (§11). Rates are
// probabilities in [0,1], drawn at deterministic points so that the same Seed
// and the same host behaviour give the same decisions. Each kind draws from
// its own random stream, so enabling one kind does not move another.
type Faults struct {
	Reset      float64 // per command line: spontaneous reset instead of executing it (Q12)
	ResetAfter int     // reset right after the Recv line of the N-th send since boot (Q12)
	Busy       float64 // per command line: answered "busy p..." 1-3 times before it is accepted (Q5)
	SendFail   float64 // per send: SEND FAIL, the data is not delivered
	FailOK     float64 // per send: SEND FAIL, then SEND OK later; the data is delivered (Q6)
	NoSendOK   float64 // per send: the data is delivered, SEND OK never comes (Q7)
	Drop       float64 // per byte to the host: the byte is lost (overrun, no flow control)
	Flip       float64 // per byte to the host: one bit is flipped
	Interleave float64 // per boundary: a pending unsolicited message is spliced there (Q1)
	GlueClosed float64 // per client data chunk: the client closes right after it (Q10, Q11)
	Vanish     float64 // per send after a link's first: the client vanishes (RST) mid-response (Q8)
	WiFiDrop   float64 // per command line: Wi-Fi drops, links close, it comes back (Q23)
}

// Fault names as used by ParseFaults and Stats.Faults.
const (
	FaultReset      = "reset"
	FaultResetAfter = "resetafter"
	FaultBusy       = "busy"
	FaultSendFail   = "sendfail"
	FaultFailOK     = "failok"
	FaultNoSendOK   = "nosendok"
	FaultDrop       = "drop"
	FaultFlip       = "flip"
	FaultInterleave = "interleave"
	FaultGlueClosed = "glueclosed"
	FaultVanish     = "vanish"
	FaultWiFiDrop   = "wifidrop"
)

func (f *Faults) rates() []struct {
	name string
	p    *float64
} {
	return []struct {
		name string
		p    *float64
	}{
		{FaultReset, &f.Reset}, {FaultBusy, &f.Busy}, {FaultSendFail, &f.SendFail},
		{FaultFailOK, &f.FailOK}, {FaultNoSendOK, &f.NoSendOK}, {FaultDrop, &f.Drop},
		{FaultFlip, &f.Flip}, {FaultInterleave, &f.Interleave}, {FaultGlueClosed, &f.GlueClosed},
		{FaultVanish, &f.Vanish}, {FaultWiFiDrop, &f.WiFiDrop},
	}
}

// ParseFaults parses a comma-separated list such as
// "reset=0.01,busy=0.01,resetafter=200". An empty string or "none" means no
// faults.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return f, nil
	}
	for item := range strings.SplitSeq(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return Faults{}, fmt.Errorf("fault %q: want name=value", item)
		}
		if name == FaultResetAfter {
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return Faults{}, fmt.Errorf("fault %s: want a count >= 0, got %q", name, val)
			}
			f.ResetAfter = n
			continue
		}
		var dst *float64
		for _, r := range f.rates() {
			if r.name == name {
				dst = r.p
			}
		}
		if dst == nil {
			return Faults{}, fmt.Errorf("unknown fault %q", name)
		}
		p, err := strconv.ParseFloat(val, 64)
		if err != nil || p < 0 || p > 1 {
			return Faults{}, fmt.Errorf("fault %s: want a probability in [0,1], got %q", name, val)
		}
		*dst = p
	}
	return f, nil
}

// String formats the faults in ParseFaults syntax ("none" if there are none).
func (f Faults) String() string {
	var parts []string
	for _, r := range f.rates() {
		if *r.p != 0 {
			parts = append(parts, r.name+"="+strconv.FormatFloat(*r.p, 'g', -1, 64))
		}
	}
	if f.ResetAfter != 0 {
		parts = append(parts, FaultResetAfter+"="+strconv.Itoa(f.ResetAfter))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func (f Faults) validate() error {
	for _, r := range f.rates() {
		if *r.p < 0 || *r.p > 1 {
			return fmt.Errorf("sim: fault %s rate %v outside [0,1]", r.name, *r.p)
		}
	}
	if f.ResetAfter < 0 {
		return fmt.Errorf("sim: fault resetafter %d < 0", f.ResetAfter)
	}
	return nil
}

// Random streams, one per decision kind.
const (
	streamGarbage = iota + 1
	streamReset
	streamBusy
	streamSendFail
	streamFailOK
	streamNoSendOK
	streamDrop
	streamFlip
	streamInterleave
	streamGlue
	streamVanish
	streamWiFi
)

func newStream(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15*stream))
}

// dice draws the decisions of one fault kind from its own stream.
type dice struct {
	p float64
	r *rand.Rand
}

func newDice(seed int64, stream uint64, p float64) dice {
	return dice{p: p, r: newStream(seed, stream)}
}

// roll reports whether the fault happens at this decision point. A zero rate
// draws nothing.
func (d dice) roll() bool {
	if d.p <= 0 {
		return false
	}
	return d.r.Float64() < d.p
}

// intn draws an extra parameter for a fault that happened.
func (d dice) intn(n int) int { return d.r.IntN(n) }
