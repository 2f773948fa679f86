package engine

import (
	"fmt"

	"github.com/x448/float16"
)

// ToHalf converts float32 values to IEEE 754 half bits (round to nearest even).
func ToHalf(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = uint16(float16.Fromfloat32(v))
	}
}

// FromHalf converts IEEE 754 half bits to float32 values.
func FromHalf(dst []float32, src []uint16) {
	for i, h := range src {
		dst[i] = float16.Frombits(h).Float32()
	}
}

// HostData converts data to the Go slice type that holds dtype's elements:
// float32 data becomes half bits for Float16 and stays []float32 for Float32.
// It checks that the element count matches shape.
func HostData(dtype DType, shape []int64, data any) (any, error) {
	n, err := NumElements(shape)
	if err != nil {
		return nil, err
	}
	var got int
	switch d := data.(type) {
	case []float32:
		got = len(d)
		if dtype == Float16 {
			h := make([]uint16, len(d))
			ToHalf(h, d)
			data = h
		} else if dtype != Float32 {
			return nil, fmt.Errorf("float32 data for a %s tensor", dtype)
		}
	case []uint16:
		got = len(d)
		if dtype != Float16 {
			return nil, fmt.Errorf("half data for a %s tensor", dtype)
		}
	case []int64:
		got = len(d)
		if dtype != Int64 {
			return nil, fmt.Errorf("int64 data for a %s tensor", dtype)
		}
	case []bool:
		got = len(d)
		if dtype != Bool {
			return nil, fmt.Errorf("bool data for a %s tensor", dtype)
		}
	default:
		return nil, fmt.Errorf("%w: host data %T", ErrUnsupportedDType, data)
	}
	if got != n {
		return nil, fmt.Errorf("tensor data has %d elements, shape %v needs %d", got, shape, n)
	}
	return data, nil
}
