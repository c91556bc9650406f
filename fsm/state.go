// Package fsm is espgate's protocol engine: the modem state machine, its one
// command slot, and the state of each of the modem's five links, including
// HTTP request parsing and response framing. It is pure: bytes from the
// modem, handler responses and the current time go in; bytes for the modem
// and notes for the loop come out. It starts no goroutines, reads no clock
// and does no I/O, so every transition can be driven by a test script.
package fsm

// ModemState is the state of the modem as a whole.
type ModemState uint8

const (
	// ModemBooting: nothing said yet. Next: ModemSyncing.
	ModemBooting ModemState = iota
	// ModemSyncing: probing with AT until the modem answers, then AT+RST.
	// Next: ModemConfiguring, ModemRecovering.
	ModemSyncing
	// ModemConfiguring: ATE0, AT+GMR, Wi-Fi mode. Next: ModemJoining, ModemRecovering.
	ModemConfiguring
	// ModemJoining: joining the network and waiting for an address.
	// Next: ModemServing (after the server commands), ModemRecovering.
	ModemJoining
	// ModemServing: the TCP server runs and links are served.
	// Next: ModemRecovering.
	ModemServing
	// ModemRecovering: the modem reset or stopped answering; in-flight
	// requests are failed and bring-up runs again. Next: ModemSyncing,
	// ModemConfiguring (after an unexpected "ready").
	ModemRecovering
	numModemStates
)

var modemStateNames = [numModemStates]string{"booting", "syncing", "configuring", "joining", "serving", "recovering"}

func (s ModemState) String() string {
	if s < numModemStates {
		return modemStateNames[s]
	}
	return "invalid"
}

// SlotState is the state of the modem's single command slot.
type SlotState uint8

const (
	// SlotIdle: no command in flight. Next: SlotAwaitOK.
	SlotIdle SlotState = iota
	// SlotAwaitOK: a command line was written; awaiting its final result.
	// Next: SlotIdle, SlotAwaitPrompt (AT+CIPSEND accepted).
	SlotAwaitOK
	// SlotAwaitPrompt: AT+CIPSEND got OK; awaiting '>'. Next: SlotAwaitSendOK.
	SlotAwaitPrompt
	// SlotAwaitSendOK: the payload was written; awaiting "Recv" and
	// "SEND OK" or "SEND FAIL". Next: SlotIdle.
	SlotAwaitSendOK
	numSlotStates
)

var slotStateNames = [numSlotStates]string{"idle", "await OK", "await prompt", "await SEND OK"}

func (s SlotState) String() string {
	if s < numSlotStates {
		return slotStateNames[s]
	}
	return "invalid"
}

// LinkState is the state of one of the modem's links.
type LinkState uint8

const (
	// LinkFree: no client. Next: LinkReceiving (on CONNECT or data).
	LinkFree LinkState = iota
	// LinkReceiving: a client is connected; a request is awaited or being
	// received. Next: LinkHandling, LinkSending (an error answer or 100
	// Continue), LinkClosing, LinkFree.
	LinkReceiving
	// LinkHandling: a complete request is with the handler.
	// Next: LinkSending, LinkFree.
	LinkHandling
	// LinkSending: a response is queued or being sent, one chunk per
	// AT+CIPSEND. Next: LinkReceiving (keep-alive), LinkClosing, LinkFree.
	LinkSending
	// LinkClosing: AT+CIPCLOSE is queued or in flight, or (2.x) the server
	// lingers for the client to close first. Next: LinkFree.
	LinkClosing
	numLinkStates
)

var linkStateNames = [numLinkStates]string{"free", "receiving", "handling", "sending", "closing"}

func (s LinkState) String() string {
	if s < numLinkStates {
		return linkStateNames[s]
	}
	return "invalid"
}

// Generation is the firmware family, told apart by AT+GMR.
type Generation uint8

const (
	GenUnknown Generation = iota
	GenNonOS              // NonOS AT 1.x
	GenESPAT              // ESP-AT 2.x
	numGenerations
)

var generationNames = [numGenerations]string{"unknown", "nonos", "espat"}

func (g Generation) String() string {
	if g < numGenerations {
		return generationNames[g]
	}
	return "invalid"
}

// CloseReason says why a link was closed.
type CloseReason uint8

const (
	ClosedByClient   CloseReason = iota // the modem reported <id>,CLOSED unasked
	ClosedByServer                      // Connection: close, or the handler asked
	ClosedIdle                          // keep-alive idle deadline, or a silent speculative connection
	ClosedTimeout                       // header or body deadline (408 sent)
	ClosedBadRequest                    // malformed or over-limit request (4xx/5xx sent)
	ClosedSendFailed                    // SEND FAIL, missing SEND OK, lost prompt, link not valid
	ClosedReset                         // the modem reset or was reset
	ClosedEvicted                       // an idle keep-alive link closed to free a link
	ClosedShutdown                      // the server is shutting down
	ClosedOverrun                       // the client sent more than could be held: a pipelining flood, or a hijacked link whose application does not read
	numCloseReasons
)

var closeReasonNames = [numCloseReasons]string{"client", "server", "idle", "timeout", "bad_request", "send_failed", "reset", "evicted", "shutdown", "overrun"}

func (r CloseReason) String() string {
	if r < numCloseReasons {
		return closeReasonNames[r]
	}
	return "invalid"
}

// Method is a request method, folded to a small set so it can label metrics.
type Method uint8

const (
	MethodOther Method = iota
	MethodGet
	MethodHead
	MethodPost
	MethodPut
	MethodDelete
	MethodPatch
	MethodOptions
	numMethods
)

var methodNames = [numMethods]string{"other", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

func (m Method) String() string {
	if m < numMethods {
		return methodNames[m]
	}
	return "invalid"
}

// Methods lists every Method, for pre-resolving metric labels.
func Methods() []Method {
	ms := make([]Method, numMethods)
	for i := range ms {
		ms[i] = Method(i)
	}
	return ms
}

// methodOf folds a request method without allocating.
func methodOf(b []byte) Method {
	for i := MethodGet; i < numMethods; i++ {
		if string(b) == methodNames[i] {
			return i
		}
	}
	return MethodOther
}
