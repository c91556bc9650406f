package sim

// The rate-mismatch model. A UART receiver samples at its own rate: bytes
// sent at a rate more than about 3% away arrive as garbage, in either
// direction. The emulator compares the host's rate (the pty's termios
// speeds, or what the in-process host end was told with SetBaud) with the
// modem's current rate (AT+UART_CUR, AT+UART_DEF, a reset) for every piece
// that crosses the line, and garbles the piece when they differ. Garbage
// here is one byte with the high bit set for each byte sent: it never
// holds a line end, so it never forms a line of its own. Only the baud
// rate is compared, not the frame format.

// rateTolerance: rates closer than 1/rateTolerance of the receiver's rate
// are read correctly.
const rateTolerance = 33

// mismatch reports whether bytes sent at baud from are garbled by a
// receiver set to baud to. A zero rate means unknown: no mismatch.
func mismatch(from, to int) bool {
	if from <= 0 || to <= 0 {
		return false
	}
	d := int64(from) - int64(to)
	if d < 0 {
		d = -d
	}
	return d*rateTolerance > int64(to)
}

// garble returns what a receiver at the wrong rate makes of b.
func garble(b []byte) []byte {
	g := make([]byte, len(b))
	for i, c := range b {
		g[i] = 0x80 | (c*0x9d+0x3b)&0x7f
	}
	return g
}
