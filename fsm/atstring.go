package fsm

import (
	"errors"
	"fmt"
)

// Lengths the firmware takes for the values the machine puts in AT
// commands (esp-at-protocol.md §2.1, §4.2): an SSID is at most 32 bytes, a
// Wi-Fi password at most 64 (a WPA passphrase, or a 64-digit hex key).
const (
	MaxSSID     = 32
	MaxPassword = 64
)

// ErrATString is wrapped by the errors of CheckATString.
var ErrATString = errors.New("cannot be sent in an AT command")

// CheckATString reports whether s can be a quoted string parameter of an
// AT command, at most max bytes long. Inside quotes a backslash escapes
// ',', '"' and '\' (§2.1); nothing escapes a control character: CR or LF
// would end the command line early, so what follows them would run as a
// command of its own, and the firmware's C strings end at NUL. The error
// names what (the value is never repeated: it may be a password) and the
// first offending byte's position.
func CheckATString(what, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s %w: %d bytes, at most %d", what, ErrATString, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%s %w: control character 0x%02x at byte %d", what, ErrATString, c, i)
		}
	}
	return nil
}

// CheckCredentials checks the network name and password a Config joins
// with (an empty SSID joins nothing).
func CheckCredentials(ssid, password string) error {
	if ssid == "" {
		return nil
	}
	if err := CheckATString("network name", ssid, MaxSSID); err != nil {
		return err
	}
	return CheckATString("password", password, MaxPassword)
}

// appendEscaped quotes s for an AT string parameter: '\', '"' and ','
// get a backslash. Bytes CheckATString refuses are left out, so that a
// value no one checked can fail to join but never inject a command.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			continue
		case c == '\\' || c == '"' || c == ',':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return b
}
