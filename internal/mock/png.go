package mock

import (
	"bytes"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
)

// screenshot renders the desktop as a real PNG: a gradient wallpaper and
// desktop icons derived from the computer ID (so different computers look
// different), the windows in stacking order, a taskbar and the cursor. It
// is crude, but it decodes, it has the advertised size and it changes when
// the model acts on the desktop, which is what callers check.
func screenshot(id string, d *desktop) ([]byte, error) {
	h := fnv.New64a()
	h.Write([]byte(id))
	seed := h.Sum64()
	c := newCanvas()

	// Wallpaper: a diagonal gradient between two colours picked from the ID.
	from := color.RGBA{uint8(seed), uint8(seed >> 8), uint8(seed >> 16), 255}
	to := color.RGBA{uint8(seed >> 24), uint8(seed >> 32), uint8(seed >> 40), 255}
	c.gradient(from, to)

	// Desktop icons down the left edge; their count and colours come from the ID.
	for i := range 2 + int(seed>>48)%4 {
		c.fill(24, 24+i*88, 48, 48, color.RGBA{uint8(seed >> (i * 7)), 200, uint8(seed >> (i * 5)), 255})
		c.fill(20, 78+i*88, 56, 8, color.RGBA{240, 240, 240, 255})
	}

	// Windows, bottom of the stack first.
	for _, w := range d.windows {
		if w.minimized {
			continue
		}
		title := color.RGBA{70, 70, 80, 255}
		if w.IsFocused {
			title = color.RGBA{40, 100, 200, 255}
		}
		c.fill(w.X-1, w.Y-1, w.Width+2, w.Height+2, color.RGBA{20, 20, 20, 255})
		c.fill(w.X, w.Y, w.Width, w.Height, color.RGBA{250, 250, 250, 255})
		c.fill(w.X, w.Y, w.Width, 24, title)
		// A few "lines of text" so windows are not blank.
		for l := range min((w.Height-40)/18, 6) {
			c.fill(w.X+12, w.Y+36+l*18, (w.Width-24)*(5+l%3)/8, 8, color.RGBA{180, 180, 185, 255})
		}
	}

	// Taskbar with one button per window.
	c.fill(0, screenH-28, screenW, 28, color.RGBA{30, 30, 36, 255})
	for i, w := range d.windows {
		col := color.RGBA{90, 90, 100, 255}
		if w.IsFocused {
			col = color.RGBA{40, 100, 200, 255}
		}
		c.fill(8+i*128, screenH-24, 120, 20, col)
	}

	// Cursor: a small white arrow with a dark outline.
	for dy := range 16 {
		c.fill(d.cursorX-1, d.cursorY+dy-1, dy/2+3, 1, color.RGBA{0, 0, 0, 255})
		c.fill(d.cursorX, d.cursorY+dy, dy/2+1, 1, color.RGBA{255, 255, 255, 255})
	}

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, c.img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// canvas is a paletted image: one byte per pixel, so drawing is row
// copies and the PNG encoder skips per-row filtering (paletted images are
// not filtered), which keeps a screenshot at a few milliseconds.
type canvas struct {
	img   *image.Paletted
	index map[color.RGBA]uint8
}

// gradientSteps palette entries are the wallpaper; the rest are free for
// the flat colours of icons, windows and the cursor.
const gradientSteps = 192

func newCanvas() *canvas {
	return &canvas{
		img:   image.NewPaletted(image.Rect(0, 0, screenW, screenH), make(color.Palette, gradientSteps)),
		index: map[color.RGBA]uint8{},
	}
}

func (c *canvas) gradient(from, to color.RGBA) {
	for i := range gradientSteps {
		t := i * 255 / (gradientSteps - 1)
		c.img.Palette[i] = color.RGBA{lerp(from.R, to.R, t), lerp(from.G, to.G, t), lerp(from.B, to.B, t), 255}
	}
	// Pixel (x, y) has step (x+y)·(steps-1)/(w+h-2): row y is a window of
	// one precomputed line.
	line := make([]uint8, screenW+screenH)
	for i := range line {
		line[i] = uint8(min(i*(gradientSteps-1)/(screenW+screenH-2), gradientSteps-1))
	}
	for y := range screenH {
		copy(c.img.Pix[y*c.img.Stride:], line[y:y+screenW])
	}
}

// colour returns the palette index of col, adding it if there is room
// (else the nearest existing colour is used).
func (c *canvas) colour(col color.RGBA) uint8 {
	if i, found := c.index[col]; found {
		return i
	}
	if len(c.img.Palette) >= 256 {
		return uint8(c.img.Palette.Index(col))
	}
	c.img.Palette = append(c.img.Palette, col)
	i := uint8(len(c.img.Palette) - 1)
	c.index[col] = i
	return i
}

func lerp(a, b uint8, t int) uint8 {
	return uint8((int(a)*(255-t) + int(b)*t) / 255)
}

// fill paints a rectangle, clipped to the image.
func (c *canvas) fill(x, y, w, h int, col color.RGBA) {
	r := image.Rect(x, y, x+w, y+h).Intersect(c.img.Bounds())
	if r.Empty() {
		return
	}
	idx := c.colour(col)
	row := bytes.Repeat([]byte{idx}, r.Dx())
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		copy(c.img.Pix[yy*c.img.Stride+r.Min.X:], row)
	}
}
