// Package imageproc decodes images and turns them into CLIP pixel_values,
// reproducing Hugging Face's CLIPImageProcessor running on Pillow 9.4 bit
// for bit.
//
// The pipeline is the one HF applies to a file opened with Pillow:
//
//  1. decode (format told by magic bytes: JPEG, PNG, GIF, WebP, BMP, TIFF);
//  2. apply the EXIF orientation as ImageOps.exif_transpose does;
//  3. convert to RGB as Image.convert("RGB"): grey is replicated, palettes
//     are looked up, alpha is dropped (not composited);
//  4. resize so the short side is ShortestEdge and the long side
//     int(ShortestEdge*long/short), with Pillow's BICUBIC filter in its
//     8-bit fixed-point form (horizontal pass, then vertical);
//  5. centre crop with offsets floor((size-crop)/2), zero padding outside;
//  6. x*RescaleFactor, then (x-mean)/std, in float32, laid out CHW.
//
// JPEG goes through libjpeg(-turbo) with Pillow's settings (integer IDCT,
// fancy upsampling), never image/jpeg, whose pixels differ. Only the pixels
// the crop keeps are resampled, and only the JPEG rows they need are
// decoded; both give exactly the values of the full computation. Lossy WebP
// planes are converted to RGB with libwebp's fancy upsampler and constants,
// so WebP too matches Pillow. The integer resampling kernels are C, with
// AVX2 versions chosen at run time; both give the same bits.
//
// Header dimensions are checked against Options.MaxPixels before anything
// is decoded. Empty, truncated and corrupt input gives a *DecodeError
// (wrapping ErrUnsupportedFormat, ErrTooLarge, ErrTooComplex or
// ErrNotRegular where they apply); nothing here panics, prints or exits.
//
// # Bounded cost
//
// Every image costs bounded time and memory whatever its bytes say:
//
//   - JPEG: at most Options.MaxScans scans (default 100), checked in
//     libjpeg's progress monitor while the scans are read;
//   - PNG: text chunks as Pillow bounds them (1 MiB inflated per chunk, 64
//     MiB in all; inflating stops at the bound); 8- and 16-bit RGB(A) are
//     narrowed to RGB inside the decoder's own buffer, so a near-limit
//     16-bit RGBA PNG peaks at its 8 bytes a pixel and no more;
//   - GIF: at most 4096 extension blocks before the first frame;
//   - EXIF readers walk only what the container bounds (one IFD, one
//     segment), never following offsets into loops;
//   - files: ReadFile (used by File) reads regular files only, up to
//     Options.MaxFileBytes, and stops when its context is cancelled.
//
// The Context entry points (Process, ReuseContext, BytesContext,
// FileContext, DecodeRGBContext) stop a decode soon after the context is
// done: the C decoder polls a flag between rows and in libjpeg's progress
// monitor (once per iMCU row of every scan), the Go decoders read through a
// context check. They then return ctx.Err() itself, not a *DecodeError.
// Probe reads a header in microseconds and estimates the memory a decode
// will take (Info.DecodeBytes), for servers that admit decodes by memory.
// Process can also return a small JPEG thumbnail made from the pixels the
// model sees (Request.Thumbnail), at no second decode.
//
// # DEVIATIONS
//
// Places where this package knowingly differs from Pillow 9.4 + HF:
//
//   - 16-bit PNG (and TIFF) samples become 8 bits by rounding v*255/65535.
//     Pillow opens 16-bit grey as mode "I" and its I→RGB conversion clips
//     at 255, so almost any such image turns white (the reference kit's
//     k_gray16.png: max abs difference 3.83 after normalisation); 16-bit
//     colour keeps the high byte, at most one level from the rounded value.
//   - TIFF: Pillow 9.4 applies the Orientation tag while loading and
//     exif_transpose applies it again (2, 3, 4, 5 and 7 cancel out; 6 and 8
//     become a half turn). It is applied once here.
//   - Rescaling multiplies in float32 (v * float32(1/255)), as the reference
//     kit does; HF's numpy code multiplies in float64 and then rounds to
//     float32, which differs by at most one float32 step (4.8e-7 after
//     normalisation).
//   - Options.FastDecode shrinks JPEGs in the DCT domain before resizing:
//     faster, deliberately not bit-exact (mean abs difference about 0.005).
//   - Animated WebP is not supported (Pillow would return its first frame);
//     BMP and TIFF variants that golang.org/x/image cannot read are refused.
//   - Work limits Pillow does not have: a JPEG with more than MaxScans scans
//     and a GIF with more than 4096 extension blocks before its first frame
//     are refused (ErrTooComplex); no encoder writes either.
//   - A PNG cut inside its last IDAT chunk is refused even when the rows it
//     holds are complete (Pillow would keep them); a cut anywhere after the
//     image data is treated as Pillow treats it.
//   - Preprocessor configs are refused when a size exceeds MaxConfigSize or
//     a normalised value would exceed ±1e6 or be non-finite; HF would
//     allocate or compute them.
//
// Not deviations, but worth knowing: 4-component JPEGs are read, as Pillow
// does, as Adobe-inverted CMYK and converted with Pillow's formula
// (255-C)(255-K)/255 rounded, which is exactly the naive multiplicative
// conversion; like Pillow and HF, no ICC profile is applied to any format.
// Truncated files are refused, like Pillow 9.4 without LOAD_TRUNCATED_IMAGES
// ("image file is truncated"), and the cases match Pillow's (checked against
// python3-pil 9.4.0 on the same libjpeg-turbo, see TestTruncationLikePillow):
// a JPEG whose entropy data runs out is refused even when only its EOI
// marker is missing, because libjpeg needs bytes past the last code to
// finish and Pillow's decoder then waits for data that never comes; a JPEG
// holding an EOI marker is decoded however early it comes (the rest is
// grey, as in Pillow); a PNG may lack IEND or be cut after its image data,
// a GIF may lack its trailer, but a cut in their pixel data is refused.
// MaxPixels defaults to
// Pillow's MAX_IMAGE_PIXELS (89,478,485), where Pillow merely warns; it
// refuses only at twice that.
package imageproc
