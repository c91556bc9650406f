package loop

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/espgate/espgate/fsm"
)

// JoinResult is the outcome of Join.
type JoinResult struct {
	// Address is the station's address on the joined network (empty if
	// the modem reported none yet).
	Address string
	// Code, when the join failed, is the modem's +CWJAP code: 1 no answer
	// in time, 2 wrong password, 3 network not found, 4 connection
	// failed; 0 when it gave none.
	Code int
	// Err is nil once joined.
	Err error
}

// Errors of Join.
var (
	ErrJoinFailed = errors.New("loop: the modem could not join the network")
	ErrStopped    = errors.New("loop: not running")
)

// JoinReason words a +CWJAP code for people.
func JoinReason(code int) string {
	switch code {
	case 1:
		return "the network did not answer in time"
	case 2:
		return "wrong password"
	case 3:
		return "network not found"
	case 4:
		return "the connection failed"
	}
	return "the modem gave no reason"
}

// Join asks the modem to join a Wi-Fi network now and to keep it for
// later boots (fsm.Machine.Join). It may be called from any goroutine,
// also from a handler. done runs on a goroutine of its own with the
// outcome, which may take as long as the modem's join (up to
// fsm.Config.JoinTimeout). Join returns an error at once, and done is not
// called, for credentials the modem cannot take or when the loop has
// stopped. The password is never logged.
func (l *Loop) Join(ssid, password string, done func(JoinResult)) error {
	if err := fsm.ValidateCredentials(ssid, password); err != nil {
		return err
	}
	f := func(now time.Time) {
		if err := l.m.Join(now, ssid, password); err != nil {
			go done(JoinResult{Err: err})
			return
		}
		l.joinDone = done
		l.cfg.Log.Info().Str("ssid", ssid).Msg("joining the network given on the set-up page")
	}
	select {
	case l.posts <- f:
		return nil
	case <-l.quit:
		return ErrStopped
	}
}

// stopped runs as Run returns: a pending Join fails.
func (l *Loop) stopped() {
	close(l.quit)
	if d := l.joinDone; d != nil {
		l.joinDone = nil
		go d(JoinResult{Err: ErrStopped})
	}
}

// wifiNote logs the Wi-Fi notes and completes a Join.
func (l *Loop) wifiNote(n *fsm.Note) {
	log := &l.cfg.Log
	switch n.Kind {
	case fsm.NoteRejoin:
		if n.Status == 0 {
			log.Warn().Dur("wait", n.Dur).Msg("wifi lost: waiting for the modem to reconnect by itself")
		} else {
			log.Info().Int("attempt", n.Status).Msg("rejoining the network")
		}
	case fsm.NoteSetup:
		switch n.Status {
		case fsm.SetupOpen:
			log.Warn().Bytes("network", n.Text).Msg("set-up mode: join the modem's Wi-Fi network and open the address it serves at to choose a network")
		case fsm.SetupJoined:
			log.Info().Dur("closes_in", n.Dur).Msg("set-up done: the modem joined a network; its set-up access point closes soon")
		default:
			log.Info().Msg("the modem's own access point is closed")
		}
	case fsm.NoteJoinResult:
		var r JoinResult
		if n.Status == 0 {
			r.Address = string(n.Text)
			log.Info().Str("ip", r.Address).Msg("joined the network")
		} else {
			r.Code = max(n.Status, 0)
			r.Err = fmt.Errorf("%w: %s", ErrJoinFailed, JoinReason(r.Code))
			log.Warn().Int("code", r.Code).Str("reason", JoinReason(r.Code)).Msg("joining the network failed")
		}
		if d := l.joinDone; d != nil {
			l.joinDone = nil
			go d(r)
		}
	case fsm.NoteMDNS:
		if n.Status == 0 {
			log.Info().Str("url", MDNSURL(string(n.Text), l.m.Config().ServerPort)).Msg("mdns: announced")
		} else {
			log.Warn().Bytes("name", n.Text).Msg("the modem refused AT+MDNS (firmware without mDNS?): clients must use the address")
		}
	}
}

// MDNSURL is the URL a name announced over mDNS gives for port.
func MDNSURL(name string, port int) string {
	if port == 80 || port == 0 {
		return "http://" + name + ".local/"
	}
	return "http://" + name + ".local:" + strconv.Itoa(port) + "/"
}
