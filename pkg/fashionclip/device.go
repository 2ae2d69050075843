package fashionclip

import (
	"fmt"
	"strings"
)

// Device is an ONNX Runtime execution provider.
type Device string

// The devices fashionclip knows. One that is unavailable in the loaded
// ONNX Runtime (or on this system) falls back to the CPU with a warning.
const (
	CPU    Device = "cpu"
	CUDA   Device = "cuda"
	CoreML Device = "coreml"
)

// Devices lists the known devices.
func Devices() []Device { return []Device{CPU, CUDA, CoreML} }

// UnknownDeviceError is a device name fashionclip does not know.
type UnknownDeviceError struct{ Name string }

func (e *UnknownDeviceError) Error() string {
	return fmt.Sprintf("unknown device %q (want cpu, cuda or coreml)", e.Name)
}

// ParseDevice reads a device name, any case; "" is the CPU.
func ParseDevice(s string) (Device, error) {
	if s == "" {
		return CPU, nil
	}
	d := Device(strings.ToLower(s))
	for _, k := range Devices() {
		if d == k {
			return d, nil
		}
	}
	return "", &UnknownDeviceError{Name: s}
}
