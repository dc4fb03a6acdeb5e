package mock

import (
	"fmt"
	"net/http"
	"strings"
)

// Screen geometry of every mock desktop; screenshots have this size.
const (
	screenW = 1024
	screenH = 768
)

// desktop is the plausible state desktop actions leave behind, so a model
// that moves the mouse, sets the clipboard or launches an app sees the
// effect in cursor, clipboard, windows and screenshots.
type desktop struct {
	cursorX, cursorY int
	clipboard        string
	windows          []*window
	nextWindow       int
	keysDown         map[string]bool
	wallpaper        string
	typed            strings.Builder // recent keyboard input, shown in the a11y tree
}

// window is the spec's Window. minimized is internal: minimized windows stay
// listed but are not drawn.
type window struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	App       string `json:"app"`
	X         int    `json:"x"`
	Y         int    `json:"y"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	IsFocused bool   `json:"is_focused"`
	Focused   bool   `json:"focused"`
	minimized bool
}

func newDesktop() *desktop {
	d := &desktop{cursorX: screenW / 2, cursorY: screenH / 2, keysDown: map[string]bool{}}
	d.open("xfce4-terminal", "Terminal - user@miosa: ~")
	return d
}

// open adds a window, cascading new windows like a window manager would.
func (d *desktop) open(app, title string) *window {
	d.nextWindow++
	off := 40 * ((d.nextWindow - 1) % 8)
	w := &window{
		ID:    fmt.Sprintf("0x%07x", 0x3a00000+d.nextWindow),
		Title: title, App: app,
		X: 60 + off, Y: 50 + off, Width: 720, Height: 480,
	}
	d.windows = append(d.windows, w)
	d.focus(w)
	return w
}

func (d *desktop) focus(w *window) {
	for _, o := range d.windows {
		o.IsFocused, o.Focused = o == w, o == w
	}
	if w != nil {
		w.minimized = false
	}
}

func (d *desktop) window(id string) (*window, bool) {
	for _, w := range d.windows {
		if w.ID == id {
			return w, true
		}
	}
	return nil, false
}

func (d *desktop) close(id string) {
	for i, w := range d.windows {
		if w.ID == id {
			d.windows = append(d.windows[:i], d.windows[i+1:]...)
			if w.IsFocused && len(d.windows) > 0 {
				d.focus(d.windows[len(d.windows)-1])
			}
			return
		}
	}
}

func (d *desktop) moveTo(x, y int) {
	d.cursorX, d.cursorY = min(max(x, 0), screenW-1), min(max(y, 0), screenH-1)
}

// clickAt moves the cursor and focuses the topmost window under it.
func (d *desktop) clickAt(x, y int) {
	d.moveTo(x, y)
	for i := len(d.windows) - 1; i >= 0; i-- {
		w := d.windows[i]
		if !w.minimized && x >= w.X && x < w.X+w.Width && y >= w.Y && y < w.Y+w.Height {
			d.focus(w)
			return
		}
	}
}

func (d *desktop) typeText(s string) {
	d.typed.WriteString(s)
	if d.typed.Len() > 2000 {
		t := d.typed.String()
		d.typed.Reset()
		d.typed.WriteString(t[len(t)-1000:])
	}
}

// appTitle makes a window title from an app name ("firefox" → "Mozilla Firefox").
func appTitle(app string) string {
	known := map[string]string{
		"firefox": "Mozilla Firefox", "chromium": "Chromium", "google-chrome": "Google Chrome",
		"code": "Visual Studio Code", "xfce4-terminal": "Terminal - user@miosa: ~", "terminal": "Terminal - user@miosa: ~",
		"thunar": "Home - File Manager", "gedit": "Untitled Document 1 - gedit", "mousepad": "Untitled 1 - Mousepad",
		"libreoffice": "LibreOffice", "gimp": "GNU Image Manipulation Program",
	}
	if t, ok := known[strings.ToLower(app)]; ok {
		return t
	}
	return app
}

// actionOK is the ActionResult every desktop action returns.
func actionOK(msg string) reply {
	return ok(actionResult{Success: true, Message: msg})
}

// actionResult is the spec's ActionResult.
type actionResult struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
	Path    string `json:"path,omitempty"`
}

// desktopOf returns the desktop of a running computer.
func (s *state) desktopOf(c *call) (*desktop, *reply) {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return nil, r
	}
	return cmp.desktop, nil
}

// windowOf returns the path's window_id on a running computer's desktop.
func (s *state) windowOf(c *call) (*desktop, *window, *reply) {
	d, r := s.desktopOf(c)
	if r != nil {
		return nil, nil, r
	}
	w, found := d.window(c.path("window_id"))
	if !found {
		nf := fail(http.StatusNotFound, "NOT_FOUND", "window not found: "+c.path("window_id"))
		return nil, nil, &nf
	}
	return d, w, nil
}
