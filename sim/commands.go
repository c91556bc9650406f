package sim

import (
	"fmt"
	"net"
	"strings"
)

// Command execution. Every handler ends the command with reply (or keeps
// the chip busy and schedules the rest, as AT+CWJAP does).

type opKind int

const (
	opExec  opKind = iota // AT+X
	opQuery               // AT+X?
	opSet                 // AT+X=...
	opTest                // AT+X=?
)

// splitCommand splits "AT+NAME=args" into name, kind and args. Basic
// commands come back as "E0", "E1", or "" for a bare AT.
func splitCommand(line string) (name string, op opKind, args string, ok bool) {
	rest := line[2:]
	if !strings.HasPrefix(rest, "+") {
		return rest, opExec, "", true
	}
	k := strings.IndexAny(rest, "=?")
	if k < 0 {
		return rest, opExec, "", true
	}
	name = rest[:k]
	switch {
	case rest[k:] == "?":
		return name, opQuery, "", true
	case rest[k:] == "=?":
		return name, opTest, "", true
	case rest[k] == '=':
		return name, opSet, rest[k+1:], true
	}
	return "", 0, "", false
}

// variant splits a 1.x "_CUR"/"_DEF" suffix off a command name; 2.x has
// no such variants (§4.1).
func (c *chip) variant(name, base string) (suffix string, ok bool) {
	if name == base {
		return "", true
	}
	if c.p == NonOS && (name == base+"_CUR" || name == base+"_DEF") {
		return name[len(base):], true
	}
	return "", false
}

func (c *chip) execute(line string) {
	name, op, args, ok := splitCommand(line)
	if !ok || op == opTest {
		c.reply(msgError) // test commands are not emulated
		return
	}
	if c.handle(name, op, args) {
		return
	}
	c.reply(msgError)
}

// handle runs a command; false means unknown (ERROR).
func (c *chip) handle(name string, op opKind, args string) bool {
	if sfx, ok := c.variant(name, "+CWMODE"); ok {
		c.cmdCWMODE(sfx, op, args)
		return true
	}
	if sfx, ok := c.variant(name, "+CWJAP"); ok {
		c.cmdCWJAP(sfx, op, args)
		return true
	}
	if sfx, ok := c.variant(name, "+CIPSTA"); ok {
		c.cmdCIPSTA(sfx, op)
		return true
	}
	if sfx, ok := c.variant(name, "+CWSAP"); ok {
		c.cmdCWSAP(sfx, op, args)
		return true
	}
	switch name {
	case "":
		c.exec(op, func() { c.reply(msgOK) })
	case "E0", "E1":
		c.exec(op, func() {
			c.echo = name == "E1"
			c.reply(msgOK)
		})
	case "+RST":
		c.exec(op, func() {
			c.write(msgOK)
			c.m.stats.update(func(s *Stats) { s.Resets++ })
			c.boot(true)
		})
	case "+RESTORE":
		c.exec(op, c.cmdRESTORE)
	case "+GMR":
		c.exec(op, func() { c.reply(c.p.gmr() + msgOK) })
	case "+CWQAP":
		c.exec(op, func() {
			c.wifiGen++
			c.reply(msgOK)
			if c.assoc {
				c.wifiLost(false) // §4.2: OK, then WIFI DISCONNECT
				c.networkCheck()
			}
		})
	case "+CIFSR":
		c.exec(op, c.cmdCIFSR)
	case "+CIPMUX":
		c.cmdCIPMUX(op, args)
	case "+CIPSERVER":
		c.cmdCIPSERVER(op, args)
	case "+CIPSERVERMAXCONN":
		c.cmdMAXCONN(op, args)
	case "+CIPSTO":
		c.cmdCIPSTO(op, args)
	case "+CIPDINFO":
		c.cmdCIPDINFO(op, args)
	case "+CIPSTATUS":
		c.exec(op, c.cmdCIPSTATUS)
	case "+SYSMSG":
		if c.p != ESPAT {
			return false
		}
		c.cmdSYSMSG("+SYSMSG", op, args, 7)
	case "+SYSMSG_CUR", "+SYSMSG_DEF":
		if c.p != NonOS {
			return false
		}
		c.cmdSYSMSG(name, op, args, 3)
	case "+CIPRECVMODE":
		c.cmdCIPRECVMODE(op, args)
	case "+CIPRECVLEN":
		if op != opQuery {
			return false
		}
		c.cmdCIPRECVLEN()
	case "+CIPRECVDATA":
		if op != opSet {
			return false
		}
		c.cmdCIPRECVDATA(args)
	case "+CIPSEND":
		if op != opSet {
			if c.mux == 0 && op == opExec {
				c.reply(msgError) // pass-through sending is not emulated
				return true
			}
			return false
		}
		c.cmdCIPSEND(args)
	case "+CIPCLOSE":
		c.cmdCIPCLOSE(op, args)
	case "+UART_CUR", "+UART_DEF":
		c.cmdUART(name, op, args)
	case "+UART":
		if c.p != NonOS {
			return false
		}
		c.cmdUART(name, op, args)
	case "+MDNS":
		if op != opSet {
			return false
		}
		c.cmdMDNS(args)
	case "+CWAUTOCONN":
		c.cmdCWAUTOCONN(op, args)
	case "+SYSSTORE":
		if c.p != ESPAT {
			return false
		}
		c.cmdSYSSTORE(op, args)
	case "+CIPMODE":
		c.cmdCIPMODE(op, args)
	default:
		return false
	}
	return true
}

// exec runs f for the execute form; other forms are ERROR.
func (c *chip) exec(op opKind, f func()) {
	if op != opExec {
		c.reply(msgError)
		return
	}
	f()
}

// flagArg parses a single 0/1 parameter.
func flagArg(args string) (int, bool) {
	v, ok := ints(args, 1, [2]int{0, 1})
	if !ok {
		return 0, false
	}
	return v[0], true
}

func (c *chip) cmdRESTORE() {
	// §3.2: links closed with CLOSED lines (highest id first), OK, reboot.
	for id := MaxLinks - 1; id >= 0; id-- {
		if l := c.links[id]; l != nil {
			c.closeByHost(l)
		}
	}
	c.write(msgOK)
	c.flash = factoryFlash(c.p, c.cfg)
	c.m.stats.update(func(s *Stats) { s.Resets++ })
	c.boot(true)
}

// Wi-Fi.

func (c *chip) cmdCWMODE(sfx string, op opKind, args string) {
	prefix := "+CWMODE" + sfx
	switch op {
	case opQuery:
		mode := c.mode
		if sfx == "_DEF" {
			mode = c.flash.mode
		}
		c.reply(fmt.Sprintf("%s:%d\r\n", prefix, mode) + msgOK)
	case opSet:
		var v []int
		var ok bool
		if c.p == ESPAT {
			v, ok = ints(args, 1, [2]int{0, 3}, [2]int{0, 1})
		} else {
			v, ok = ints(args, 1, [2]int{1, 3})
		}
		if !ok {
			c.reply(msgError)
			return
		}
		auto := len(v) < 2 || v[1] == 1
		old := c.mode
		c.mode = v[0]
		if sfx != "_CUR" && (c.p == NonOS || c.flash.sysstore) {
			c.flash.mode = v[0]
		}
		c.reply(msgOK)
		if c.assoc && !c.staEnabled() {
			c.wifiGen++
			c.wifiLost(false)
		}
		c.networkCheck()
		if old != 1 && old != 3 && c.staEnabled() && auto {
			c.autoConnect(c.t.AutoConnect)
		}
	default:
		c.reply(msgError)
	}
}

func (c *chip) cmdCWJAP(sfx string, op opKind, args string) {
	switch op {
	case opQuery:
		prefix := "+CWJAP" + sfx
		if !c.assoc {
			c.reply(msgNoAP + msgOK)
			return
		}
		info := fmt.Sprintf("%s:\"%s\",\"%s\",6,-52", prefix, c.cfg.SSID, apBSSID)
		if c.p == ESPAT {
			info += ",0,1,3,0,0" // pci_en, reconn_interval, listen_interval, scan_mode, pmf
		}
		c.reply(info + "\r\n" + msgOK)
	case opSet:
		ps, ok := parseParams(args)
		maxN := 3
		if c.p == ESPAT {
			maxN = 9
		}
		if !ok || len(ps) < 2 || len(ps) > maxN {
			c.reply(msgError)
			return
		}
		ssid, q1 := ps[0].str()
		pwd, q2 := ps[1].str()
		if !q1 || ssid == "" || (!q2 && !ps[1].empty()) {
			c.reply(msgError)
			return
		}
		if len(ps) > 2 && !ps[2].quoted && !ps[2].empty() {
			c.reply(msgError) // bssid must be a string
			return
		}
		for _, p := range ps[min(3, len(ps)):] {
			if _, ok := p.int(); !ok && !p.empty() {
				c.reply(msgError)
				return
			}
		}
		store := sfx != "_CUR" && (c.p == NonOS || c.flash.sysstore)
		c.join(ssid, pwd, store)
	case opExec:
		if c.p != ESPAT || !c.flash.hasCreds {
			c.reply(msgError)
			return
		}
		c.join(c.flash.ssid, c.flash.pwd, false)
	default:
		c.reply(msgError)
	}
}

const (
	apBSSID = "a4:2b:b0:c1:d2:e3"
	staMAC  = "5c:cf:7f:a1:b2:c3"
	apMAC   = "5e:cf:7f:a1:b2:c3"
	apIP    = "192.168.4.1"
)

// join runs AT+CWJAP (§4.2): busy for Timing.Join, WIFI DISCONNECT first if
// associated, then WIFI CONNECTED / WIFI GOT IP / OK or the failure code:
// 3 (AP not found) for a wrong SSID or while the access point is gone
// (DropWiFi), 2 (wrong password) for a wrong password.
func (c *chip) join(ssid, pwd string, store bool) {
	if !c.staEnabled() {
		c.reply(msgError)
		return
	}
	c.wifiGen++
	if c.assoc {
		c.wifiLost(true)
	}
	code := 0
	switch {
	case ssid != c.cfg.SSID || c.apGone():
		code = 3
	case pwd != c.cfg.Password:
		code = 2
	}
	if code != 0 {
		c.after(c.t.Join, func() { c.reply(c.p.joinFail(code)) })
		return
	}
	c.after(c.t.Join*3/5, func() {
		c.write(msgWifiConn)
		c.after(c.t.Join-c.t.Join*3/5, func() {
			c.assoc = true
			c.hadLink = false
			if store {
				c.flash.hasCreds = true
				c.flash.ssid, c.flash.pwd = ssid, pwd
			}
			c.reply(msgWifiIP + msgOK)
		})
	})
}

func (c *chip) staIP() string {
	if c.assoc {
		return c.cfg.StationIP
	}
	return "0.0.0.0"
}

func (c *chip) cmdCIFSR() {
	var b strings.Builder
	if c.apActive() {
		fmt.Fprintf(&b, "+CIFSR:APIP,\"%s\"\r\n+CIFSR:APMAC,\"%s\"\r\n", apIP, apMAC)
	}
	if c.staEnabled() {
		fmt.Fprintf(&b, "+CIFSR:STAIP,\"%s\"\r\n+CIFSR:STAMAC,\"%s\"\r\n", c.staIP(), staMAC)
	}
	c.reply(b.String() + msgOK)
}

func (c *chip) cmdCIPSTA(sfx string, op opKind) {
	if op != opQuery {
		c.reply(msgError) // setting a static address is not emulated
		return
	}
	ip, gw, mask := "0.0.0.0", "0.0.0.0", "0.0.0.0"
	if c.assoc {
		ip, mask = c.cfg.StationIP, "255.255.255.0"
		a := net.ParseIP(ip).To4()
		gw = net.IPv4(a[0], a[1], a[2], 1).String()
	}
	p := "+CIPSTA" + sfx
	c.reply(fmt.Sprintf("%s:ip:\"%s\"\r\n%s:gateway:\"%s\"\r\n%s:netmask:\"%s\"\r\n", p, ip, p, gw, p, mask) + msgOK)
}

func (c *chip) cmdCWSAP(sfx string, op opKind, args string) {
	prefix := "+CWSAP" + sfx
	if !c.apActive() {
		c.reply(msgError)
		return
	}
	switch op {
	case opQuery:
		a := c.ap
		if sfx == "_DEF" {
			a = c.flash.ap
		}
		c.reply(fmt.Sprintf("%s:\"%s\",\"%s\",%d,%d,%d,%d\r\n", prefix, a.ssid, a.pwd, a.chl, a.ecn, a.maxConn, a.hidden) + msgOK)
	case opSet:
		ps, ok := parseParams(args)
		if !ok || len(ps) < 4 || len(ps) > 6 {
			c.reply(msgError)
			return
		}
		ssid, q1 := ps[0].str()
		pwd, q2 := ps[1].str()
		chl, ok1 := ps[2].int()
		ecn, ok2 := ps[3].int()
		a := apCfg{ssid: ssid, pwd: pwd, chl: chl, ecn: ecn, maxConn: 4}
		ok = q1 && q2 && ok1 && ok2 && ssid != "" && len(ssid) <= 32 && chl >= 1 && chl <= 13
		ok = ok && (ecn == 0 || (ecn >= 2 && ecn <= 4 && len(pwd) >= 8 && len(pwd) <= 64))
		if len(ps) > 4 {
			v, okm := ps[4].int()
			ok = ok && okm && v >= 1 && v <= 8
			a.maxConn = v
		}
		if len(ps) > 5 {
			v, okh := ps[5].int()
			ok = ok && okh && (v == 0 || v == 1)
			a.hidden = v
		}
		if !ok {
			c.reply(msgError)
			return
		}
		if ecn == 0 {
			a.pwd = ""
		}
		c.ap = a
		if sfx != "_CUR" && (c.p == NonOS || c.flash.sysstore) {
			c.flash.ap = a
		}
		c.reply(msgOK)
	default:
		c.reply(msgError)
	}
}

func (c *chip) cmdCWAUTOCONN(op opKind, args string) {
	c.flagCmd(op, args, "+CWAUTOCONN", &c.flash.autoconn)
}

func (c *chip) cmdSYSSTORE(op opKind, args string) {
	c.flagCmd(op, args, "+SYSSTORE", &c.flash.sysstore)
}

// flagCmd serves a command whose only setting is a 0/1 flag: the query
// prints "<name>:<0|1>", the set form takes 0 or 1.
func (c *chip) flagCmd(op opKind, args, name string, flag *bool) {
	switch op {
	case opQuery:
		v := 0
		if *flag {
			v = 1
		}
		c.reply(fmt.Sprintf("%s:%d\r\n", name, v) + msgOK)
	case opSet:
		v, ok := flagArg(args)
		if !ok {
			c.reply(msgError)
			return
		}
		*flag = v == 1
		c.reply(msgOK)
	default:
		c.reply(msgError)
	}
}

// TCP/IP.

func (c *chip) linksInUse() bool {
	for _, l := range c.links {
		if l != nil {
			return true
		}
	}
	return false
}

func (c *chip) cmdCIPMUX(op opKind, args string) {
	switch op {
	case opQuery:
		c.reply(fmt.Sprintf("+CIPMUX:%d\r\n", c.mux) + msgOK)
	case opSet:
		v, ok := flagArg(args)
		switch {
		case !ok:
			c.reply(msgError)
		case v == c.mux:
			c.reply(msgOK)
		case v == 0 && c.server:
			c.reply(c.p.withNote("CIPSERVER must be 0")) // §5
		case c.linksInUse():
			c.reply(c.p.withNote("link is builded")) // §5
		default:
			c.mux = v
			c.reply(msgOK)
		}
	default:
		c.reply(msgError)
	}
}

// cmdCIPSERVER: =1[,port] starts the server (default port 333); 1.x
// answers "no change" when one runs (or none runs for =0); 2.x's behaviour
// for these repeats is not documented and is ERROR here. =0 closes all
// links in 1.x; in 2.x only with close_all=1 (§5).
func (c *chip) cmdCIPSERVER(op opKind, args string) {
	if op == opQuery && c.p == ESPAT {
		if c.server {
			c.reply(fmt.Sprintf("+CIPSERVER:1,%d,\"TCP\",0\r\n", c.serverPort) + msgOK)
		} else {
			c.reply("+CIPSERVER:0\r\n" + msgOK)
		}
		return
	}
	if op != opSet {
		c.reply(msgError)
		return
	}
	ps, ok := parseParams(args)
	if !ok || len(ps) < 1 {
		c.reply(msgError)
		return
	}
	mode, ok := ps[0].int()
	if !ok || (mode != 0 && mode != 1) {
		c.reply(msgError)
		return
	}
	if mode == 1 {
		port := 333
		maxN := 2
		if c.p == ESPAT {
			maxN = 4
		}
		if len(ps) > maxN {
			c.reply(msgError)
			return
		}
		if len(ps) > 1 && !ps[1].empty() {
			v, ok := ps[1].int()
			if !ok || v < 1 || v > 65535 {
				c.reply(msgError)
				return
			}
			port = v
		}
		if len(ps) > 2 && ps[2].s != "TCP" {
			c.reply(msgError) // only TCP servers are emulated
			return
		}
		if len(ps) > 3 {
			if v, ok := ps[3].int(); !ok || v != 0 {
				c.reply(msgError)
				return
			}
		}
		switch {
		case c.mux != 1:
			c.reply(msgError)
		case c.server && c.p == NonOS:
			c.reply("no change\r\n" + msgOK)
		case c.server:
			c.reply(msgError)
		default:
			c.server = true
			c.serverPort = port
			c.reply(msgOK)
		}
		return
	}
	closeAll := c.p == NonOS
	switch {
	case len(ps) > 2:
		c.reply(msgError)
		return
	case len(ps) == 2 && c.p == ESPAT:
		v, ok := ps[1].int()
		if !ok || (v != 0 && v != 1) {
			c.reply(msgError)
			return
		}
		closeAll = v == 1
	}
	if !c.server {
		if c.p == NonOS {
			c.reply("no change\r\n" + msgOK)
		} else {
			c.reply(msgError)
		}
		return
	}
	c.server = false
	if closeAll {
		for id := range MaxLinks {
			if l := c.links[id]; l != nil {
				c.closeByHost(l)
			}
		}
	}
	c.reply(msgOK)
}

func (c *chip) cmdMAXCONN(op opKind, args string) {
	switch op {
	case opQuery:
		c.reply(fmt.Sprintf("+CIPSERVERMAXCONN:%d\r\n", c.maxConn) + msgOK)
	case opSet:
		v, ok := ints(args, 1, [2]int{1, MaxLinks})
		if !ok || c.server { // §5: must precede CIPSERVER
			c.reply(msgError)
			return
		}
		c.maxConn = v[0]
		c.reply(msgOK)
	default:
		c.reply(msgError)
	}
}

// cmdCIPSTO: the idle timeout, 0-7200 s (0 = never, default 180). 1.x
// refuses to set it unless a server runs (Q19).
func (c *chip) cmdCIPSTO(op opKind, args string) {
	switch op {
	case opQuery:
		c.reply(fmt.Sprintf("+CIPSTO:%d\r\n", c.sto) + msgOK)
	case opSet:
		v, ok := ints(args, 1, [2]int{0, 7200})
		if !ok || (c.p == NonOS && !c.server) {
			c.reply(msgError)
			return
		}
		c.sto = v[0]
		for _, l := range c.links {
			if l != nil {
				c.armSTO(l)
			}
		}
		c.reply(msgOK)
	default:
		c.reply(msgError)
	}
}

func (c *chip) cmdCIPDINFO(op opKind, args string) {
	switch {
	case op == opQuery && c.p == ESPAT:
		c.reply(fmt.Sprintf("+CIPDINFO:%t\r\n", c.dinfo) + msgOK)
	case op == opSet:
		v, ok := flagArg(args)
		if !ok {
			c.reply(msgError)
			return
		}
		c.dinfo = v == 1
		c.reply(msgOK)
	default:
		c.reply(msgError)
	}
}

// cmdCIPSTATUS (§4.3): STATUS 2 got IP, 3 has links, 4 all links closed,
// 5 no network.
func (c *chip) cmdCIPSTATUS() {
	var b strings.Builder
	status := 5
	switch {
	case c.linksInUse():
		status = 3
	case c.netUp() && c.hadLink:
		status = 4
	case c.netUp():
		status = 2
	}
	fmt.Fprintf(&b, "STATUS:%d\r\n", status)
	for _, l := range c.links {
		if l != nil && !l.peerClosed {
			fmt.Fprintf(&b, "+CIPSTATUS:%d,\"TCP\",\"%s\",%d,%d,1\r\n", l.id, l.ip, l.port, c.serverPort)
		}
	}
	c.reply(b.String() + msgOK)
}

// cmdSYSMSG: bit 1 turns "<id>,CONNECT" into +LINK_CONN (§6.1).
func (c *chip) cmdSYSMSG(name string, op opKind, args string, maxV int) {
	switch op {
	case opQuery:
		v := c.sysmsg
		if name == "+SYSMSG_DEF" {
			v = c.flash.sysmsg
		}
		c.reply(fmt.Sprintf("%s:%d\r\n", name, v) + msgOK)
	case opSet:
		v, ok := ints(args, 1, [2]int{0, maxV})
		if !ok {
			c.reply(msgError)
			return
		}
		c.sysmsg = v[0]
		if name == "+SYSMSG_DEF" {
			c.flash.sysmsg = v[0]
		}
		c.reply(msgOK)
	default:
		c.reply(msgError)
	}
}

func (c *chip) cmdCIPRECVMODE(op opKind, args string) {
	switch op {
	case opQuery:
		c.reply(fmt.Sprintf("+CIPRECVMODE:%d\r\n", c.recvMode) + msgOK)
	case opSet:
		v, ok := flagArg(args)
		if !ok {
			c.reply(msgError)
			return
		}
		c.recvMode = v
		c.reply(msgOK)
		for _, l := range c.links {
			if l != nil {
				if v == 0 {
					l.notified = false
				}
				c.pump(l)
			}
		}
	default:
		c.reply(msgError)
	}
}

// cmdCIPRECVLEN: buffered bytes per link; unused links print 0 (1.x) or
// -1 (2.x) (§6.4, Q17).
func (c *chip) cmdCIPRECVLEN() {
	vals := make([]string, MaxLinks)
	for i, l := range c.links {
		if l == nil {
			vals[i] = c.p.recvLenUnused()
		} else {
			vals[i] = fmt.Sprint(len(l.buf))
		}
	}
	c.reply("+CIPRECVLEN:" + strings.Join(vals, ",") + "\r\n" + msgOK)
}

// cmdCIPRECVDATA reads passive-mode data (§6.4). When data remains a new
// notification follows; a closed link's CLOSED follows its last byte.
func (c *chip) cmdCIPRECVDATA(args string) {
	v, ok := ints(args, 2, [2]int{0, MaxLinks - 1}, [2]int{1, 1<<31 - 1})
	if !ok || c.recvMode != 1 {
		c.reply(msgError)
		return
	}
	l := c.links[v[0]]
	if l == nil || len(l.buf) == 0 {
		c.reply(msgError)
		return
	}
	n := min(v[1], len(l.buf))
	data := string(l.buf[:n])
	l.buf = append(l.buf[:0], l.buf[n:]...)
	l.grant(n)
	l.notified = false
	c.reply(c.p.recvDataHeader(n, c.dinfo, l.ip, l.port) + data + msgOK)
	c.pump(l)
}

// cmdCIPCLOSE (§8): "<id>,CLOSED" then OK; 5 closes all; a link not in
// use is UNLINK + ERROR in 1.x (Q9), ERROR in 2.x.
func (c *chip) cmdCIPCLOSE(op opKind, args string) {
	if op == opExec && c.mux == 0 {
		c.reply(c.p.deadLinkClose()) // no single connection is emulated
		return
	}
	if op != opSet || c.mux != 1 {
		c.reply(msgError)
		return
	}
	v, ok := ints(args, 1, [2]int{0, MaxLinks})
	if !ok {
		c.reply(msgError)
		return
	}
	if v[0] == MaxLinks {
		for id := range MaxLinks {
			if l := c.links[id]; l != nil {
				c.closeByHost(l)
			}
		}
		c.reply(msgOK)
		return
	}
	l := c.links[v[0]]
	if l == nil {
		c.reply(c.p.deadLinkClose())
		return
	}
	c.closeByHost(l)
	c.reply(msgOK)
}

// cmdUART: AT+UART_CUR/_DEF=<baud>,<data>,<stop>,<parity>,<flow> (§9). OK
// goes out at the old rate, then the line changes. Flow control is
// accepted but the emulated line has no RTS/CTS.
func (c *chip) cmdUART(name string, op opKind, args string) {
	switch op {
	case opQuery:
		if name == "+UART" {
			c.reply(msgError)
			return
		}
		u := c.uart
		baud := u.baud
		if name == "+UART_DEF" {
			u = c.flash.uart
			baud = u.baud
		} else {
			baud = 80000000 / (80000000 / baud) // the divisor-rounded rate (§9)
		}
		c.reply(fmt.Sprintf("%s:%d,%d,%d,%d,%d\r\n", name, baud, u.data, u.stop, u.parity, u.flow) + msgOK)
	case opSet:
		lo, hi := 110, 4608000
		if c.p == ESPAT {
			lo, hi = 80, 4500000
		}
		v, ok := ints(args, 5, [2]int{lo, hi}, [2]int{5, 8}, [2]int{1, 3}, [2]int{0, 2}, [2]int{0, 3})
		if !ok {
			c.reply(msgError)
			return
		}
		u := uartCfg{baud: v[0], data: v[1], stop: v[2], parity: v[3], flow: v[4]}
		c.reply(msgOK)
		if name != "+UART_CUR" {
			c.flash.uart = u
		}
		if u != c.uart {
			c.uart = u
			c.m.line.enqueueRate(u.rate())
		}
	default:
		c.reply(msgError)
	}
}

// cmdMDNS: =1,"host","service",port or =0. 1.x builds the service type as
// "_<service>._tcp" (the SDK's lwIP mdns.c, mdns_set_servername), so its
// documented example passes "iot"; 2.x passes the service type itself
// ("_iot" in its example). 1.x refuses mDNS without a station (SoftAP mode,
// [D-NONOS] AT+MDNS notes).
func (c *chip) cmdMDNS(args string) {
	ps, ok := parseParams(args)
	if !ok || len(ps) == 0 {
		c.reply(msgError)
		return
	}
	en, ok := ps[0].int()
	switch {
	case ok && en == 0 && len(ps) == 1:
		c.mdns = MDNSInfo{}
		c.reply(msgOK)
	case ok && en == 1 && len(ps) == 4:
		host, q1 := ps[1].str()
		svc, q2 := ps[2].str()
		port, q3 := ps[3].int()
		if !q1 || !q2 || !q3 || host == "" || svc == "" || port < 1 || port > 65535 {
			c.reply(msgError)
			return
		}
		if c.p == NonOS && !c.staEnabled() {
			c.reply(msgError)
			return
		}
		if c.p == NonOS {
			svc = "_" + svc
		}
		c.mdns = MDNSInfo{On: true, Host: host, Service: svc + "._tcp", Port: port}
		c.reply(msgOK)
	default:
		c.reply(msgError)
	}
}

// cmdCIPMODE: only normal mode (0); pass-through needs CIPMUX=0 and is not
// emulated.
func (c *chip) cmdCIPMODE(op opKind, args string) {
	switch op {
	case opQuery:
		c.reply("+CIPMODE:0\r\n" + msgOK)
	case opSet:
		v, ok := flagArg(args)
		switch {
		case !ok:
			c.reply(msgError)
		case v == 0:
			c.reply(msgOK)
		case c.mux == 1 || c.server:
			c.reply(c.p.withNote("CIPMUX and CIPSERVER must be 0"))
		default:
			c.reply(msgError)
		}
	default:
		c.reply(msgError)
	}
}
