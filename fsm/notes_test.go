package fsm

import "testing"

// An observer can follow a link from its notes alone: who the client is,
// and when the server starts closing it.
func TestLinkNotesForObservers(t *testing.T) {
	for _, g := range gens {
		t.Run(g.String(), func(t *testing.T) {
			tm := serving(t, g, Config{})
			tm.handler = text("bye")
			tm.says("0,CONNECT\r\n" + ipd(0, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
			if n, ok := tm.lastNote(NoteRequest); !ok || string(n.Text) != "192.168.1.9" {
				t.Fatalf("NoteRequest Text %q, want the client's IP", n.Text)
			}
			tm.sendChunk(0)
			tm.lingerThenClose(0)
			var kinds []NoteKind
			for _, n := range tm.notes {
				switch n.Kind {
				case NoteResponseDone, NoteLinkClosing, NoteLinkClosed:
					kinds = append(kinds, n.Kind)
					if n.Kind == NoteLinkClosing && n.Reason != ClosedByServer {
						t.Errorf("NoteLinkClosing reason %v, want %v", n.Reason, ClosedByServer)
					}
				}
			}
			if len(kinds) != 3 || kinds[0] != NoteResponseDone || kinds[1] != NoteLinkClosing || kinds[2] != NoteLinkClosed {
				t.Fatalf("notes %v, want response done, closing, closed", kinds)
			}
		})
	}
}
