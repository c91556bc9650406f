package sim

import (
	"fmt"
	"time"
)

// Profile selects the firmware generation the emulator speaks.
type Profile string

const (
	// NonOS is Espressif NonOS AT 1.7.x: prompt "\r\nOK\r\n> ", "busy s..."
	// while a send awaits its TCP ACK, SEND OK only after the ACK,
	// CWJAP failure "+CWJAP:n\r\n\r\nFAIL\r\n", CIPDINFO IP unquoted,
	// "+CIPRECVDATA,<len>:", CIPRECVLEN 0 for unused links, UNLINK on closing
	// a dead link, a sixth client accepted and reset with nothing on the UART.
	NonOS Profile = "nonos"
	// ESPAT is ESP-AT 2.2 on ESP8266: prompt "\r\nOK\r\n\r\n>", only
	// "busy p...", SEND OK on hand-off to the stack, "+CIPRECVDATA:<len>,",
	// CIPRECVLEN -1 for unused links, +LINK_CONN with AT+SYSMSG, CIPDINFO IP
	// quoted.
	ESPAT Profile = "espat"
)

func (p Profile) valid() bool { return p == NonOS || p == ESPAT }

// Timing holds the modem's own latencies. Line transmission time is modelled
// separately (see LineParams) and comes on top of these.
type Timing struct {
	Prompt  time.Duration // CIPSEND command line received -> prompt
	SendOK  time.Duration // espat: Recv -> SEND OK (hand-off; later while >2880 bytes are unwritten)
	ACK     time.Duration // nonos: data written to the client -> SEND OK (modelled ACK; "busy s..." meanwhile)
	IPD     time.Duration // per +IPD frame, before it is written
	Command time.Duration // ordinary command execution time
	Boot    time.Duration // reset: garbage -> "ready"
	Join    time.Duration // AT+CWJAP duration
	// AutoConnect is "ready" -> WIFI GOT IP when the station reconnects from
	// stored credentials, and the outage of a Wi-Fi drop.
	AutoConnect time.Duration
}

// DefaultTiming returns the documented default latencies of a profile.
// The reference gives few measured values; where it gives none the default
// is a plausible processing time and says so.
func DefaultTiming(p Profile) Timing {
	t := Timing{
		Prompt:  2 * time.Millisecond,   // §7.1: not measured in the reference; a short processing time
		IPD:     1 * time.Millisecond,   // §6.3: server data is forwarded as it arrives
		Command: 1 * time.Millisecond,   // §2.1: commands run one at a time; duration not given
		Boot:    500 * time.Millisecond, // §3.2: "typical observed <1 s", hosts allow up to 10 s
		Join:    5 * time.Second,        // §4.2: "typically ~5 s in an office"
		// §3.1: WIFI CONNECTED/GOT IP follow ready "seconds later".
		AutoConnect: 1 * time.Second,
	}
	switch p {
	case ESPAT:
		t.SendOK = 20 * time.Millisecond // §7.2, Q21: ~20 ms coalescing before transmit (esp-at#700)
	default:
		// §7.2: SEND OK waits for the peer's ACK, one round trip on a LAN;
		// peers with delayed ACK can add up to ~200 ms.
		t.ACK = 10 * time.Millisecond
	}
	return t
}

// Fixed byte templates shared by both generations (§2.2).
const (
	msgOK       = "\r\nOK\r\n"
	msgError    = "\r\nERROR\r\n"
	msgFail     = "\r\nFAIL\r\n"
	msgBusyP    = "\r\nbusy p...\r\n"
	msgBusyS    = "\r\nbusy s...\r\n"
	msgReady    = "\r\nready\r\n"
	msgSendOK   = "\r\nSEND OK\r\n"
	msgSendFail = "\r\nSEND FAIL\r\n" // 1.x leading CRLF unconfirmed (§13); logs show a blank line
	msgWifiConn = "WIFI CONNECTED\r\n"
	msgWifiIP   = "WIFI GOT IP\r\n"
	msgWifiDisc = "WIFI DISCONNECT\r\n"
	msgNoAP     = "No AP\r\n"
)

// promptParts splits the CIPSEND prompt at the OK/">" boundary (§2.2, §7.1).
func (p Profile) promptParts() (ok, tail string) {
	if p == ESPAT {
		return msgOK, "\r\n>"
	}
	return msgOK, "> "
}

// busyLine is the reply to input while busy; only 1.x has "busy s..." (§7.4).
func (p Profile) busyLine(sending bool) string {
	if sending && p == NonOS {
		return msgBusyS
	}
	return msgBusyP
}

// echo returns the echo of one received command byte (§2.3): 1.x echoes the
// characters and answers LF with CR LF ("AT\r\n" -> "AT\r\r\n"); 2.x echoes
// the line verbatim.
func (p Profile) echo(b byte) string {
	if p == NonOS && b == '\n' {
		return "\r\n"
	}
	return string([]byte{b})
}

// gmr is the AT+GMR reply body (§3.3); the versions are fixed and plausible.
func (p Profile) gmr() string {
	if p == ESPAT {
		return "AT version:2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\n" +
			"SDK version:v3.4-22-g967752e2\r\n" +
			"compile time(6800286):Jun 17 2021 13:46:07\r\n" +
			"Bin version:2.2.0(WROOM-02)\r\n"
	}
	return "AT version:1.7.4.0(May 11 2020 19:13:04)\r\n" +
		"SDK version:3.0.4(9532ceb)\r\n" +
		"compile time:May 11 2020 19:14:02\r\n" +
		"Bin version(Wroom 02):1.7.4\r\n"
}

// joinFail is the AT+CWJAP failure reply (§4.2, Q3).
func (p Profile) joinFail(code int) string {
	if p == ESPAT {
		return fmt.Sprintf("+CWJAP:%d\r\n", code) + msgError
	}
	return fmt.Sprintf("+CWJAP:%d\r\n", code) + msgFail
}

// ipdHeader is the active-mode +IPD header (§2.2, §6.2, Q27).
func (p Profile) ipdHeader(id, n int, dinfo bool, ip string, port int) string {
	switch {
	case !dinfo:
		return fmt.Sprintf("\r\n+IPD,%d,%d:", id, n)
	case p == ESPAT:
		return fmt.Sprintf("\r\n+IPD,%d,%d,\"%s\",%d:", id, n, ip, port)
	default:
		return fmt.Sprintf("\r\n+IPD,%d,%d,%s,%d:", id, n, ip, port)
	}
}

// recvDataHeader is the AT+CIPRECVDATA reply header (§6.4, Q17). The 1.7
// form with CIPDINFO is not documented; it is printed without address.
func (p Profile) recvDataHeader(n int, dinfo bool, ip string, port int) string {
	if p == ESPAT {
		if dinfo {
			return fmt.Sprintf("+CIPRECVDATA:%d,\"%s\",%d,", n, ip, port)
		}
		return fmt.Sprintf("+CIPRECVDATA:%d,", n)
	}
	return fmt.Sprintf("+CIPRECVDATA,%d:", n)
}

// recvLenUnused is what AT+CIPRECVLEN? prints for a link not in use (§6.4).
func (p Profile) recvLenUnused() string {
	if p == ESPAT {
		return "-1"
	}
	return "0"
}

// deadLinkSend is the reply to AT+CIPSEND for a link not connected (§7.1).
func (p Profile) deadLinkSend() string {
	if p == ESPAT {
		return msgError
	}
	return "link is not valid\r\n" + msgError
}

// deadLinkClose is the reply to AT+CIPCLOSE for a link not connected (§8, Q9).
func (p Profile) deadLinkClose() string {
	if p == ESPAT {
		return msgError
	}
	return "UNLINK\r\n" + msgError
}

// withNote prefixes a 1.x diagnostic line to ERROR; 2.x prints ERROR only
// (§2.2: whether 2.x prints these strings is unconfirmed).
func (p Profile) withNote(note string) string {
	if p == ESPAT {
		return msgError
	}
	return note + "\r\n" + msgError
}
