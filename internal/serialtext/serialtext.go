// Package serialtext renders serial-line bytes for traces and logs, for
// the server and the emulator alike: escaped so that line noise reads as
// bytes, and with the Wi-Fi passwords in AT commands hidden.
package serialtext

const hexDigits = "0123456789abcdef"

// AppendEscaped appends b as the inside of a double-quoted Go string
// literal that shows every byte: printable ASCII as it is, \r \n \t \" \\,
// and \xNN for the rest (not read as UTF-8).
func AppendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		switch {
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20 && c < 0x7f:
			dst = append(dst, c)
		default:
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return dst
}

// Redacted is what a hidden parameter list reads as.
const Redacted = "<redacted>"

// secretCmds are the AT commands whose parameters hold a Wi-Fi password.
var secretCmds = [...]string{"AT+CWJAP", "AT+CWSAP"}

// SecretFilter hides the parameters of AT+CWJAP and AT+CWSAP (with or
// without a _CUR or _DEF suffix) in a byte stream that may come in any
// pieces: from the '=' after the command name to the end of the line. Use
// one per direction (a modem that echoes repeats the command). The zero
// value is ready; it is not safe for concurrent use.
type SecretFilter struct {
	last  [8]byte // the last bytes seen
	armed bool    // a secret command's name was seen on this line
	on    bool    // inside its parameters
	shown bool    // Redacted was written for them
}

// Append appends b to dst with the secret parameters hidden.
func (f *SecretFilter) Append(dst, b []byte) []byte {
	for _, c := range b {
		end := c == '\r' || c == '\n'
		if f.on {
			if end {
				f.on = false
				dst = append(dst, c)
			} else if !f.shown {
				f.shown = true
				dst = append(dst, Redacted...)
			}
			continue
		}
		dst = append(dst, c)
		copy(f.last[:], f.last[1:])
		f.last[len(f.last)-1] = c
		for _, p := range secretCmds {
			if string(f.last[:]) == p {
				f.armed = true
			}
		}
		switch {
		case end:
			f.armed = false
		case f.armed && c == '=':
			f.armed, f.on, f.shown = false, true, false
		}
	}
	return dst
}
