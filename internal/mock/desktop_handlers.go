package mock

import (
	"fmt"
	"strings"
)

// desktopBody holds the union of the desktop request bodies; each handler
// reads the fields its operation declares (the spec validation has already
// checked them).
type desktopBody struct {
	X, Y          int
	Button        string
	Text          string
	Key           string
	Keys          []string
	Direction     string
	Clicks        int
	FromX         int `json:"from_x"`
	FromY         int `json:"from_y"`
	ToX           int `json:"to_x"`
	ToY           int `json:"to_y"`
	Seconds       float64
	AppName       string `json:"app_name"`
	WindowID      string `json:"window_id"`
	Width, Height int
	Path          string
	hasX, hasY    bool // scroll moves the cursor only when both were sent
}

// onDesktop wraps a desktop action: look up the running computer, decode
// the body, apply fn.
func onDesktop(fn func(d *desktop, b *desktopBody) reply) handler {
	return func(s *state, c *call) reply {
		d, r := s.desktopOf(c)
		if r != nil {
			return *r
		}
		b := &desktopBody{}
		if r := c.bind(b); r != nil {
			return *r
		}
		var sent map[string]any
		if r := c.bind(&sent); r != nil {
			return *r
		}
		_, b.hasX = sent["x"]
		_, b.hasY = sent["y"]
		return fn(d, b)
	}
}

// onWindow wraps an action on the path's window.
func onWindow(fn func(d *desktop, w *window, b *desktopBody) reply) handler {
	return func(s *state, c *call) reply {
		d, w, r := s.windowOf(c)
		if r != nil {
			return *r
		}
		b := &desktopBody{}
		if r := c.bind(b); r != nil {
			return *r
		}
		return fn(d, w, b)
	}
}

func desktopScreenshot(s *state, c *call) reply {
	cmp, r := s.runningComputer(c)
	if r != nil {
		return *r
	}
	png, err := screenshot(cmp.ID, cmp.desktop)
	if err != nil {
		return fail(500, "INTERNAL_ERROR", "rendering screenshot: "+err.Error())
	}
	return binaryReply("image/png", png)
}

var desktopClick = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.clickAt(b.X, b.Y)
	return actionOK(fmt.Sprintf("%s click at (%d, %d)", orDefault(b.Button, "left"), b.X, b.Y))
})

var desktopDoubleClick = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.clickAt(b.X, b.Y)
	return actionOK(fmt.Sprintf("double click at (%d, %d)", b.X, b.Y))
})

var desktopMouseDown = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.clickAt(b.X, b.Y)
	return actionOK(fmt.Sprintf("%s button down at (%d, %d)", orDefault(b.Button, "left"), b.X, b.Y))
})

var desktopMouseUp = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.moveTo(b.X, b.Y)
	return actionOK(fmt.Sprintf("%s button up at (%d, %d)", orDefault(b.Button, "left"), b.X, b.Y))
})

var desktopMoveCursor = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.moveTo(b.X, b.Y)
	return actionOK(fmt.Sprintf("cursor at (%d, %d)", d.cursorX, d.cursorY))
})

// desktopDrag drags from one point to another; a drag that starts on a
// window's title bar moves the window, as it would on a real desktop.
var desktopDrag = onDesktop(func(d *desktop, b *desktopBody) reply {
	for i := len(d.windows) - 1; i >= 0; i-- {
		w := d.windows[i]
		if !w.minimized && b.FromX >= w.X && b.FromX < w.X+w.Width && b.FromY >= w.Y && b.FromY < w.Y+24 {
			w.X += b.ToX - b.FromX
			w.Y += b.ToY - b.FromY
			d.focus(w)
			break
		}
	}
	d.moveTo(b.ToX, b.ToY)
	return actionOK(fmt.Sprintf("dragged (%d, %d) → (%d, %d)", b.FromX, b.FromY, b.ToX, b.ToY))
})

var desktopScroll = onDesktop(func(d *desktop, b *desktopBody) reply {
	if b.hasX && b.hasY {
		d.moveTo(b.X, b.Y)
	}
	return actionOK(fmt.Sprintf("scrolled %s %d clicks", orDefault(b.Direction, "down"), max(b.Clicks, 1)))
})

var desktopType = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.typeText(b.Text)
	return actionOK(fmt.Sprintf("typed %d characters", len([]rune(b.Text))))
})

var desktopKey = onDesktop(func(d *desktop, b *desktopBody) reply {
	pressKeys(d, []string{b.Key})
	return actionOK("pressed " + b.Key)
})

var desktopHotkey = onDesktop(func(d *desktop, b *desktopBody) reply {
	pressKeys(d, b.Keys)
	return actionOK("pressed " + strings.Join(b.Keys, "+"))
})

var desktopKeyDown = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.keysDown[b.Key] = true
	return actionOK(b.Key + " down")
})

var desktopKeyUp = onDesktop(func(d *desktop, b *desktopBody) reply {
	delete(d.keysDown, b.Key)
	return actionOK(b.Key + " up")
})

// pressKeys applies the few key combinations whose effect is visible in
// the mock's state: Return/Tab type text, ctrl+v pastes the clipboard,
// alt+F4 closes the focused window.
func pressKeys(d *desktop, keys []string) {
	combo := strings.ToLower(strings.Join(keys, "+"))
	switch combo {
	case "return", "enter", "kp_enter":
		d.typeText("\n")
	case "tab":
		d.typeText("\t")
	case "ctrl+v", "control+v", "ctrl+shift+v":
		d.typeText(d.clipboard)
	case "alt+f4":
		for _, w := range d.windows {
			if w.IsFocused {
				d.close(w.ID)
				break
			}
		}
	}
}

// desktopWait acknowledges without sleeping: the mock's state does not
// change over time except through lifecycles, which read the clock anyway.
var desktopWait = onDesktop(func(d *desktop, b *desktopBody) reply {
	return actionOK(fmt.Sprintf("waited %gs", b.Seconds))
})

func desktopListWindows(s *state, c *call) reply {
	d, r := s.desktopOf(c)
	if r != nil {
		return *r
	}
	return ok(append([]*window{}, d.windows...))
}

var desktopLaunch = onDesktop(func(d *desktop, b *desktopBody) reply {
	w := d.open(b.AppName, appTitle(b.AppName))
	return actionOK(fmt.Sprintf("launched %s (window %s)", b.AppName, w.ID))
})

var desktopFocusWindow = onDesktop(func(d *desktop, b *desktopBody) reply {
	w, found := d.window(b.WindowID)
	if !found {
		return notFound("window", b.WindowID)
	}
	d.focus(w)
	return actionOK("focused " + w.ID)
})

var desktopResizeWindow = onWindow(func(d *desktop, w *window, b *desktopBody) reply {
	w.Width, w.Height = b.Width, b.Height
	return actionOK(fmt.Sprintf("resized %s to %dx%d", w.ID, w.Width, w.Height))
})

var desktopMoveWindow = onWindow(func(d *desktop, w *window, b *desktopBody) reply {
	w.X, w.Y = b.X, b.Y
	return actionOK(fmt.Sprintf("moved %s to (%d, %d)", w.ID, w.X, w.Y))
})

var desktopMaximizeWindow = onWindow(func(d *desktop, w *window, _ *desktopBody) reply {
	w.X, w.Y, w.Width, w.Height = 0, 0, screenW, screenH-28
	d.focus(w)
	return actionOK("maximized " + w.ID)
})

var desktopMinimizeWindow = onWindow(func(d *desktop, w *window, _ *desktopBody) reply {
	w.minimized = true
	w.IsFocused, w.Focused = false, false
	return actionOK("minimized " + w.ID)
})

var desktopCloseWindow = onWindow(func(d *desktop, w *window, _ *desktopBody) reply {
	d.close(w.ID)
	return actionOK("closed " + w.ID)
})

func desktopGetScreenSize(s *state, c *call) reply {
	if _, r := s.desktopOf(c); r != nil {
		return *r
	}
	return ok(map[string]int{"width": screenW, "height": screenH})
}

func desktopGetCursorPosition(s *state, c *call) reply {
	d, r := s.desktopOf(c)
	if r != nil {
		return *r
	}
	return ok(map[string]int{"x": d.cursorX, "y": d.cursorY})
}

func desktopGetClipboard(s *state, c *call) reply {
	d, r := s.desktopOf(c)
	if r != nil {
		return *r
	}
	return ok(map[string]string{"text": d.clipboard})
}

var desktopSetClipboard = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.clipboard = b.Text
	return actionOK(fmt.Sprintf("clipboard set (%d characters)", len([]rune(b.Text))))
})

func desktopGetEnvironment(s *state, c *call) reply {
	if _, r := s.desktopOf(c); r != nil {
		return *r
	}
	return ok(map[string]string{"name": "xfce", "resolution": fmt.Sprintf("%dx%d", screenW, screenH), "session_type": "x11"})
}

var desktopSetWallpaper = onDesktop(func(d *desktop, b *desktopBody) reply {
	d.wallpaper = b.Path
	return actionOK("wallpaper set to " + b.Path)
})

// desktopAccessibilityTree returns an AT-SPI-like tree: the desktop frame
// with one frame per visible window, each holding a text area; the focused
// window's shows the recent keyboard input.
func desktopAccessibilityTree(s *state, c *call) reply {
	d, r := s.desktopOf(c)
	if r != nil {
		return *r
	}
	children := make([]map[string]any, 0, len(d.windows))
	for _, w := range d.windows {
		if w.minimized {
			continue
		}
		node := map[string]any{
			"role": "frame", "name": w.Title, "window_id": w.ID, "focused": w.IsFocused,
			"bounds": map[string]int{"x": w.X, "y": w.Y, "width": w.Width, "height": w.Height},
		}
		text := ""
		if w.IsFocused {
			text = d.typed.String()
		}
		node["children"] = []map[string]any{{
			"role": "text", "name": "", "text": text,
			"bounds": map[string]int{"x": w.X + 4, "y": w.Y + 28, "width": max(w.Width-8, 0), "height": max(w.Height-32, 0)},
		}}
		children = append(children, node)
	}
	return ok(map[string]any{
		"role": "desktop frame", "name": "Desktop",
		"bounds":   map[string]int{"x": 0, "y": 0, "width": screenW, "height": screenH},
		"children": children,
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
