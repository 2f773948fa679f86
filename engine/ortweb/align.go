package ortweb

// copyAlign is WebGPU's alignment for copyBufferToBuffer offsets and sizes.
const copyAlign = 4

// alignedRange widens the byte range [off, off+n) to copyAlign boundaries,
// as WebGPU copies only aligned ranges: a float16 element at an odd index
// starts at a 2-byte offset. The caller trims the extra bytes.
func alignedRange(off, n int) (start, end int) {
	start = off / copyAlign * copyAlign
	end = (off + n + copyAlign - 1) / copyAlign * copyAlign
	return start, end
}
