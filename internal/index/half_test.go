package index

import (
	"math"
	"testing"
)

func TestToHalfKnownValues(t *testing.T) {
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"one third rounds down", 1.0 / 3, 0x3555},
		{"0.1", 0.1, 0x2e66},
		{"largest finite", 65504, 0x7bff},
		{"halfway to 65536 ties to even (inf)", 65520, 0x7c00},
		{"just below the tie stays finite", 65519.996, 0x7bff},
		{"overflow", 1e6, 0x7c00},
		{"smallest normal", float32(math.Ldexp(1, -14)), 0x0400},
		{"smallest subnormal", float32(math.Ldexp(1, -24)), 0x0001},
		{"half the smallest subnormal ties to zero", float32(math.Ldexp(1, -25)), 0x0000},
		{"three quarters of the smallest subnormal rounds up", float32(math.Ldexp(1.5, -25)), 0x0001},
		{"underflow", 1e-10, 0x0000},
		{"infinity", float32(math.Inf(1)), 0x7c00},
		{"minus infinity", float32(math.Inf(-1)), 0xfc00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toHalf(tt.in); got != tt.want {
				t.Errorf("toHalf(%g) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
	if h := toHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN became %#04x", h)
	}
}

// Every half widens exactly and narrows back to itself; every midpoint
// between neighbours rounds to the even one.
func TestHalfExhaustive(t *testing.T) {
	lut := halfLUT()
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := fromHalf(h)
		if math.Float32bits(lut[i]) != math.Float32bits(f) {
			t.Fatalf("table[%#04x] = %g, fromHalf = %g", h, lut[i], f)
		}
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("%#04x is a NaN but widened to %g", h, f)
			}
			continue
		}
		if back := toHalf(f); back != h {
			t.Fatalf("%#04x → %g → %#04x", h, f, back)
		}
		// The midpoint to the next half up (same sign, larger magnitude).
		if h&0x7fff >= 0x7bff {
			continue
		}
		mid := (float64(f) + float64(fromHalf(h+1))) / 2
		want := h
		if h&1 == 1 {
			want = h + 1
		}
		if got := toHalf(float32(mid)); got != want {
			t.Fatalf("midpoint of %#04x and %#04x (%g) → %#04x, want %#04x", h, h+1, mid, got, want)
		}
	}
}
