package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync/atomic"
)

// Input limits: every byte check, dataflow and policies read counts
// against a limit per file (standard input included) and one per run, so
// that no input can make a run read without end (a symlink to /dev/zero
// is not a regular file, and is refused before these apply).
const (
	DefaultMaxFileSize  = 64 << 20
	DefaultMaxInputSize = 1 << 30
)

// Limits are the limits of a run (the flags --max-file-size and
// --max-input-size, which the messages name); zero fields mean the
// defaults.
type Limits struct {
	File, Total ByteSize
}

// FileLimit is the most bytes one file (or standard input) may hold.
func (l Limits) FileLimit() int64 {
	if l.File <= 0 {
		return DefaultMaxFileSize
	}
	return int64(l.File)
}

// TotalLimit is the most bytes the inputs of a run may hold together.
func (l Limits) TotalLimit() int64 {
	if l.Total <= 0 {
		return DefaultMaxInputSize
	}
	return int64(l.Total)
}

// ByteSize is a size flag: a number of bytes, optionally with a unit.
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10},
	{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}, {"k", 1e3},
}

// String implements flag.Value: the size in the largest binary unit that
// divides it, as Set reads it.
func (s *ByteSize) String() string {
	if s == nil {
		return "0"
	}
	n := int64(*s)
	for _, u := range sizeUnits[:4] {
		if n > 0 && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Set implements flag.Value: a whole number of bytes with an optional unit
// (K, M, G, T decimal; Ki, Mi, Gi, Ti binary; a trailing B is ignored).
func (s *ByteSize) Set(v string) error {
	num := strings.TrimSuffix(v, "B")
	factor := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = n, u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case err != nil || num == "" || num[0] == '+' || num[0] == '-':
		return errors.New("want a size in bytes, e.g. 1048576, 64Mi or 1Gi")
	case n <= 0:
		return errors.New("want a size above 0")
	}
	if hi, lo := bits.Mul64(uint64(n), uint64(factor)); hi != 0 || lo > math.MaxInt64 {
		return errors.New("too large")
	}
	*s = ByteSize(n * factor)
	return nil
}

// sizeText writes n bytes for people: "64 MiB", "1.4 KiB", "900 bytes".
func sizeText(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1<<10 {
		return fmt.Sprintf("%d bytes", n)
	}
	f, u := float64(n)/(1<<10), 0
	for f >= 1<<10 && u < len(units)-1 {
		f /= 1 << 10
		u++
	}
	if n%(1<<(10*(u+1))) == 0 {
		return fmt.Sprintf("%d %s", n>>(10*(u+1)), units[u])
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}

// limitText is a limit as its flag and value: "--max-file-size 64 MiB",
// or "--max-input-size 2000 bytes" when it is not a whole number of KiB,
// MiB...
func limitText(flag string, n int64) string {
	if n >= 1<<10 && n%(1<<10) != 0 {
		return fmt.Sprintf("--%s %d bytes", flag, n)
	}
	return "--" + flag + " " + sizeText(n)
}

// sizeError is an input over a limit.
type sizeError struct{ msg string }

func (e *sizeError) Error() string { return e.msg }

// limitedReader reads one input, failing with a sizeError once it has
// given more than the file limit, or has taken the run's inputs (used,
// shared by a run's files) past the run limit. reserved bytes of the input
// were counted in used already (its size when it was opened).
type limitedReader struct {
	r               io.Reader
	n, reserved     int64 // bytes read, bytes already counted in used
	fileMax, runMax int64
	used            *atomic.Int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	// Read at most one byte past the file limit: enough to know it is
	// passed, and no more however large the input.
	if room := l.fileMax + 1 - l.n; int64(len(p)) > room {
		p = p[:room]
	}
	k, err := l.r.Read(p)
	l.n += int64(k)
	if l.n > l.fileMax {
		return k, &sizeError{"more than " + limitText("max-file-size", l.fileMax)}
	}
	if l.n > l.reserved {
		grown := l.n - l.reserved
		l.reserved = l.n
		if l.used.Add(grown) > l.runMax {
			return k, &sizeError{"the inputs are more than " + limitText("max-input-size", l.runMax)}
		}
	}
	return k, err
}

// notRegularError is a path that is not a regular file (nor a directory,
// where one may be given).
type notRegularError struct{ mode fs.FileMode }

func (e *notRegularError) Error() string {
	return "not a regular file (" + modeName(e.mode) + "): only regular files, and standard input as -f -, are read"
}

// modeName names the type of a file that is not a regular one.
func modeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "of type " + m.Type().String()
}
