package imageproc

/*
#include <stdio.h>
#include <jpeglib.h>

static int fcJpegTurboVersion(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
	return LIBJPEG_TURBO_VERSION_NUMBER;
#else
	return 0;
#endif
}
*/
import "C"

import "fmt"

// LibjpegTurboVersion is the libjpeg-turbo version the decoder was compiled
// against ("3.0.1"), or "" when the headers do not say: a constant, so
// asking costs nothing.
func LibjpegTurboVersion() string {
	n := int(C.fcJpegTurboVersion())
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", n/1000000, n/1000%1000, n%1000)
}
