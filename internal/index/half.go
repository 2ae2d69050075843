package index

import (
	"math"
	"sync"
)

// IEEE 754 binary16 ("half", numpy's float16) conversions, written out by
// hand because Go has no half type.

// toHalf rounds f to the nearest half, ties to even, as numpy's astype does.
func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // Inf or NaN: keep NaN a NaN even if its payload is cut
		if mant == 0 {
			return sign | 0x7c00
		}
		m := uint16(mant >> 13)
		if m == 0 {
			m = 0x200
		}
		return sign | 0x7c00 | m
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): shift the mantissa with its implicit
		// bit down to units of 2^-24.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	// A carry out of the mantissa bumps the exponent, which is the right
	// answer, up to and including overflow to Inf.
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// fromHalf widens a half exactly.
func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

var (
	halfTableOnce sync.Once
	halfTable     *[1 << 16]float32
)

// halfLUT returns the 64K-entry half→float32 table (256 KiB, L2-resident)
// used where no hardware conversion is available.
func halfLUT() *[1 << 16]float32 {
	halfTableOnce.Do(func() {
		t := new([1 << 16]float32)
		for i := range t {
			t[i] = fromHalf(uint16(i))
		}
		halfTable = t
	})
	return halfTable
}
