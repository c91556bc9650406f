// Command static serves a small web app (HTML, CSS, JavaScript and an
// icon, embedded in the binary with gzip siblings) and a JSON endpoint
// through the modem, or with no -device through the embedded emulator:
//
//	go run ./examples/static
//	go run ./examples/static -device /dev/serial0 -ssid MyNet -password ...
//
// After editing a file under site/, run go generate to refresh its .gz.
package main

//go:generate go run gen_gz.go

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"math"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/espgate/espgate"
	"github.com/espgate/espgate/handlers"
)

//go:embed site
var siteFiles embed.FS

func main() {
	device := flag.String("device", "", "modem line; empty: the embedded emulator")
	ssid := flag.String("ssid", "", "Wi-Fi network to join")
	password := flag.String("password", "", "Wi-Fi password")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &espgate.Server{
		Device:    *device,
		SSID:      *ssid,
		Password:  *password,
		Routes:    routes(time.Now),
		OnServing: func(url string) { fmt.Println("serving", url) },
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}

// routes serves the site at / and simulated sensor readings at
// /api/readings.
func routes(now func() time.Time) *handlers.Router {
	site, err := fs.Sub(siteFiles, "site")
	if err != nil {
		panic(err) // the embedded tree always has it
	}
	rt := handlers.NewRouter()
	// no-cache: browsers revalidate every file on each visit, and an
	// unchanged one costs a 304 of a few hundred bytes on the wire.
	rt.Handle("GET /", handlers.FileServer(site, handlers.StaticOptions{CacheControl: "no-cache"}))
	rt.HandleFunc("GET /api/readings", func(w *handlers.ResponseWriter, r *handlers.Request) {
		serveReadings(w, r, now())
	})
	return rt
}

// readingEvery is the interval of the simulated sensors; window is how
// far back a first request reaches.
const (
	readingEvery = 30
	window       = 30 * 60
)

// serveReadings answers the readings newer than ?since= (or those of the
// last half hour), oldest first.
func serveReadings(w *handlers.ResponseWriter, r *handlers.Request, now time.Time) {
	end := now.Unix() / readingEvery * readingEvery
	start := end - window + readingEvery
	if v, ok := r.Query("since"); ok {
		since, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			w.WriteHeader(400)
			w.WriteString("since: not a number\n")
			return
		}
		start = max(start, since/readingEvery*readingEvery+readingEvery)
	}
	w.AddHeader("Content-Type", "application/json")
	w.AddHeader("Cache-Control", "no-store")
	b := make([]byte, 0, 64*((end-start)/readingEvery+1)+16)
	b = append(b, `{"readings":[`...)
	for t := start; t <= end; t += readingEvery {
		if t > start {
			b = append(b, ',')
		}
		temp, hum, soil, light := sensors(t)
		b = strconv.AppendInt(append(b, `{"t":`...), t, 10)
		b = strconv.AppendFloat(append(b, `,"temp":`...), temp, 'f', 1, 64)
		b = strconv.AppendFloat(append(b, `,"hum":`...), hum, 'f', 0, 64)
		b = strconv.AppendFloat(append(b, `,"soil":`...), soil, 'f', 0, 64)
		b = strconv.AppendFloat(append(b, `,"light":`...), light, 'f', 0, 64)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	w.Write(b)
}

// sensors simulates a greenhouse at time t (Unix seconds): a daily
// temperature and light cycle, humidity that falls as it warms, and soil
// that dries out and is watered every six hours.
func sensors(t int64) (temp, hum, soil, light float64) {
	day := 2 * math.Pi * float64(t%86400) / 86400
	noise := float64(uint32(t*2654435761)>>16)/65536 - 0.5 // deterministic jitter
	temp = 21 + 7*math.Sin(day-math.Pi/2) + noise
	hum = 62 - 2*(temp-21) + 3*noise
	soil = 70 - 50*float64(t%21600)/21600
	light = max(0, 32000*math.Sin(day-math.Pi/2)) + 40
	return temp, hum, soil, light
}
