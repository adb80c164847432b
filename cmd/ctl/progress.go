package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress shows the layer events of a pull, push or copy.
type progress interface {
	// event reports one step; it is called from one goroutine at a time.
	event(image.Event)
	// done stops showing progress; the caller may print after it.
	done()
}

// newProgress returns how the command shows progress on out: nothing when
// quiet, one bar line per layer on a terminal (as docker), and one plain
// line per change of step otherwise.
func (a *app) newProgress(quiet bool) progress {
	switch {
	case quiet:
		return nopProgress{}
	case isTerminal(a.out) && terminalHeight(a.out) > 0:
		return newBarProgress(a.out, terminalWidth(a.out))
	default:
		return &plainProgress{out: a.out, last: map[string]image.Status{}}
	}
}

type nopProgress struct{}

func (nopProgress) event(image.Event) {}
func (nopProgress) done()             {}

// plainProgress prints "<id>: <step>" each time a layer reaches a new step,
// leaving out byte counts, as docker does when its output is not a
// terminal.
type plainProgress struct {
	out  io.Writer
	last map[string]image.Status
}

func (p *plainProgress) event(e image.Event) {
	if prev, ok := p.last[e.ID]; ok && prev == e.Status {
		return
	}
	p.last[e.ID] = e.Status
	if e.Status == image.StatusDownloading || e.Status == image.StatusPushing {
		return // byte counts are for terminals
	}
	fmt.Fprintln(p.out, e.String())
}

func (p *plainProgress) done() {}

// barProgress draws one line per layer, redrawn in place: the step, and a
// bar with byte counts while bytes move.
type barProgress struct {
	p     *mpb.Progress
	width int
	mu    sync.Mutex
	bars  map[string]*layerBar
	order []*layerBar
}

// layerBar is one layer's line.
type layerBar struct {
	mu  sync.Mutex
	ev  image.Event
	bar *mpb.Bar
}

func newBarProgress(out io.Writer, width int) *barProgress {
	return &barProgress{
		p: mpb.New(mpb.WithOutput(out), mpb.WithWidth(width), mpb.WithRefreshRate(150*time.Millisecond),
			mpb.WithAutoRefresh()), // also draws the final state of quick transfers
		width: width,
		bars:  map[string]*layerBar{},
	}
}

func (b *barProgress) event(e image.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	lb, ok := b.bars[e.ID]
	if !ok {
		lb = &layerBar{ev: e}
		lb.bar = b.p.MustAdd(0, mpb.BarFillerFunc(lb.fill), mpb.BarFillerTrim())
		b.bars[e.ID] = lb
		b.order = append(b.order, lb)
	}
	lb.mu.Lock()
	lb.ev = e
	lb.mu.Unlock()
}

func (b *barProgress) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, lb := range b.order {
		lb.bar.Abort(false) // keep the line as last drawn
	}
	b.p.Wait()
}

// fill draws the layer's line within the width mpb gives it.
func (lb *layerBar) fill(w io.Writer, st decor.Statistics) error {
	lb.mu.Lock()
	e := lb.ev
	lb.mu.Unlock()
	line := progressLine(e, st.AvailableWidth)
	_, err := io.WriteString(w, line)
	return err
}

// progressLine is docker's progress line for e, at most width columns:
// "a3ed95caeb02: Downloading [=====>      ]  1.234MB/12.34MB".
func progressLine(e image.Event, width int) string {
	line := e.String()
	if (e.Status == image.StatusDownloading || e.Status == image.StatusPushing) && e.Total > 0 {
		counts := fmt.Sprintf("%8v/%v", transferSize(e.Current), transferSize(e.Total))
		barWidth := min(50, width-len(line)-len(counts)-5)
		if barWidth >= 10 {
			filled := int(float64(barWidth) * float64(e.Current) / float64(e.Total))
			filled = max(0, min(filled, barWidth))
			line += " [" + strings.Repeat("=", filled) + ">" + strings.Repeat(" ", barWidth-filled) + "] " + counts
		} else {
			line += " " + counts
		}
	}
	if width > 0 && len(line) > width {
		line = line[:width]
	}
	return line
}
