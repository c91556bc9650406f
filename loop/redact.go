package loop

// secretCmdNames are the AT commands whose parameters hold a Wi-Fi password.
var secretCmdNames = [...]string{"AT+CWJAP", "AT+CWSAP"}

// secretFilter hides the parameters of secretCmdNames in the serial traffic the
// trace log shows, in either direction (a modem that echoes repeats them)
// and across reads and writes cut anywhere: from the '=' after the
// command name (with or without a _CUR or _DEF suffix) to the end of the
// line. It is owned by the loop goroutine.
type secretFilter struct {
	last  [8]byte // the last bytes seen
	armed bool    // a secret command's name was seen on this line
	on    bool    // inside its parameters
	shown bool    // "<redacted>" was written for them
}

// filter appends b to dst with the secret parameters hidden.
func (r *secretFilter) filter(dst, b []byte) []byte {
	for _, c := range b {
		end := c == '\r' || c == '\n'
		if r.on {
			if end {
				r.on = false
				dst = append(dst, c)
			} else if !r.shown {
				r.shown = true
				dst = append(dst, "<redacted>"...)
			}
			continue
		}
		dst = append(dst, c)
		copy(r.last[:], r.last[1:])
		r.last[len(r.last)-1] = c
		for _, p := range secretCmdNames {
			if string(r.last[:]) == p {
				r.armed = true
			}
		}
		switch {
		case end:
			r.armed = false
		case r.armed && c == '=':
			r.armed, r.on, r.shown = false, true, false
		}
	}
	return dst
}
